/**
 * The data a shell command moves, as far as it can be read without running it: the text it prints
 * (`echo`, `printf`, `cat <<EOF`), what it reads on stdin (here-document, pipe, `< FILE`) and the
 * files it writes (`> FILE`, `>> FILE`, `tee [-a] FILE`). commands.ts uses it to follow uploaded
 * and heredoc-written scripts, recognize.ts to report file writes; both agree because both ask here.
 */
import { ShellRedirect, ShellWord } from "../words";

/** Text whose exact value may differ at run time when `dynamic` (it holds $VAR, $(...) ...). */
export interface ShellText {
  readonly text: string;
  readonly dynamic: boolean;
}

/** A file a command writes. `content` is undefined when the written text cannot be read. */
export interface ShellFileWrite {
  readonly path: string;
  readonly content?: ShellText;
  /** `>>` or `tee -a`: appended rather than replaced. */
  readonly append: boolean;
  /** `redirect` (`>`/`>>`) or `tee`. */
  readonly via: "redirect" | "tee";
}

/** What commands need from a command here: its words after prefixes, redirects and stdin. */
export interface ShellDataInput {
  readonly words: readonly ShellWord[];
  readonly redirects: readonly ShellRedirect[];
  readonly stdin?: ShellText;
}

/** Program name without directory: `/usr/sbin/ipvsadm` → `ipvsadm`. */
export function programName(word: string | undefined): string {
  if (word === undefined) return "";
  const slash = word.lastIndexOf("/");
  return slash < 0 ? word : word.slice(slash + 1);
}

const PRINTF_ESCAPES: Readonly<Record<string, string>> = { n: "\n", t: "\t", r: "\r", "\\": "\\", a: "\x07", "'": "'", '"': '"' };

function unescapeBackslashes(text: string): string {
  return text.replace(/\\(.)/g, (all, c: string) => (Object.prototype.hasOwnProperty.call(PRINTF_ESCAPES, c) ? PRINTF_ESCAPES[c] : all));
}

/** `printf FORMAT ARGS...` as far as %s, %d, %b and backslash escapes go; the format repeats while args remain. */
function printfOutput(format: string, args: readonly string[]): string {
  let out = "";
  let next = 0;
  do {
    out += format.replace(/%%|%[-+ #0-9.]*([sdbiuxXc])|\\(.)/g, (all, conversion: string | undefined, escaped: string | undefined) => {
      if (all === "%%") return "%";
      if (escaped !== undefined) return unescapeBackslashes(all);
      const arg = args[next++] ?? "";
      return conversion === "b" ? unescapeBackslashes(arg) : arg;
    });
  } while (next > 0 && next < args.length);
  return out;
}

/**
 * The text a command prints on stdout: `echo` (with -n/-e), `printf`, `cat` of its stdin
 * (here-document or pipe). Undefined for anything else.
 */
export function outputOf(input: ShellDataInput): ShellText | undefined {
  const [program, ...rest] = input.words;
  const dynamic = rest.some((w) => w.dynamic);
  switch (programName(program?.text)) {
    case "echo": {
      let args = rest.map((w) => w.text);
      let newline = true;
      let escapes = false;
      while (args.length > 0 && /^-[neE]+$/.test(args[0])) {
        if (args[0].includes("n")) newline = false;
        if (args[0].includes("e")) escapes = true;
        args = args.slice(1);
      }
      const text = args.join(" ");
      return { text: (escapes ? unescapeBackslashes(text) : text) + (newline ? "\n" : ""), dynamic };
    }
    case "printf": {
      if (rest.length === 0) return undefined;
      return { text: printfOutput(rest[0].text, rest.slice(1).map((w) => w.text)), dynamic };
    }
    case "cat":
      return rest.length === 0 ? input.stdin : undefined;
    default:
      return undefined;
  }
}

/** A here-document's body as read: sh expands $VAR, $(...) and `...` in it unless its delimiter was quoted. */
export function heredocText(redirect: ShellRedirect): ShellText | undefined {
  if (redirect.heredoc === undefined) return undefined;
  return { text: redirect.heredoc, dynamic: !redirect.heredocLiteral && /[$`]/.test(redirect.heredoc) };
}

/** Files the command writes: stdout redirections (`>`, `>>`, `>|`, `1>`) and `tee [-a] FILE...`. */
export function fileWritesOf(input: ShellDataInput): ShellFileWrite[] {
  const writes: ShellFileWrite[] = [];
  const printed = outputOf(input);
  const [program, ...rest] = input.words;
  if (programName(program?.text) === "tee") {
    const append = rest.some((w) => /^-[a-z]*a/.test(w.text) || w.text === "--append");
    for (const w of rest) {
      if (w.text.startsWith("-") || w.dynamic) continue;
      writes.push({ path: w.text, ...(input.stdin ? { content: input.stdin } : {}), append, via: "tee" });
    }
  }
  for (const r of input.redirects) {
    const toStdout = r.fd === undefined || r.fd === 1;
    if (!toStdout || (r.op !== ">" && r.op !== ">>" && r.op !== ">|") || r.target.dynamic) continue;
    if (r.target.text === "/dev/null") continue;
    writes.push({ path: r.target.text, ...(printed ? { content: printed } : {}), append: r.op === ">>", via: "redirect" });
  }
  return writes;
}
