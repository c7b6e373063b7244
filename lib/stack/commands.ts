/**
 * Turns a resource's provisioners into the steps a host sees, in order: shell commands (from
 * remote-exec `inline`, `script`, `scripts`, `sh -c '...'` strings and scripts run after being
 * uploaded or written), and file uploads (file provisioner). Each step keeps its origin.
 *
 * What is taken as run: every simple command in text order, including those inside `if`, loops and
 * shell function bodies (a reader cannot know which branch runs); prefixes such as `sudo`, `env
 * X=1`, `exec` are stripped and remembered.
 */
import { parseShell, ShellCommand, ShellRedirect, ShellWord, CommandSeparator } from "../words";
import { fileWritesOf, heredocText, outputOf, programName, ShellText } from "./shell-data";
import { HostTarget, JsonValue, ProvisionerWhen, readStackFile, resolveTemplate, StackProvisioner, StackResource, targetOf, TerraformStackJson } from "./terraform-json";

/** Where in the provisioner's text a step came from. */
export type StepSource =
  /** The `index`-th element of remote-exec `inline`; `file` when it was `${file("x.sh")}`. */
  | { readonly kind: "inline"; readonly index: number; readonly file?: string }
  /** A remote-exec `script` or one of `scripts`, read next to the stack. */
  | { readonly kind: "script"; readonly file: string }
  /** The file provisioner itself. */
  | { readonly kind: "file-provisioner" }
  /** The provisioner as a whole (notes such as "script not found"). */
  | { readonly kind: "provisioner" };

/** A script or `sh -c` string a command was found inside, and where that was run. */
export interface NestedIn {
  readonly kind: "sh -c" | "script";
  /** For "script": the path on the host that was run (`sh /tmp/x.sh`). */
  readonly file?: string;
  /** Line (in the enclosing text) of the command that ran it. */
  readonly line: number;
}

/** Where a step comes from: resource, provisioner, text and line. */
export interface StepOrigin {
  /** Resource address, `null_resource.lb`. */
  readonly resource: string;
  /** Index of the provisioner within the resource. */
  readonly provisioner: number;
  readonly provisionerType: string;
  readonly when: ProvisionerWhen;
  readonly source: StepSource;
  /** 1-based line within the source (within the innermost `nestedIn` text when nested). */
  readonly line: number;
  /** Enclosing `sh -c` strings and scripts, outermost first. */
  readonly nestedIn: readonly NestedIn[];
}

/** A simple shell command that runs on the target host. */
export interface StackCommand {
  readonly kind: "command";
  readonly origin: StepOrigin;
  readonly target: HostTarget;
  /** Program name without directory (`ipvsadm`), after prefixes; "" when the command is only assignments. */
  readonly program: string;
  /** The words from the program on (prefixes removed). */
  readonly words: readonly ShellWord[];
  readonly redirects: readonly ShellRedirect[];
  /** Stripped prefixes as written, e.g. `["sudo", "-n"]`, `["env", "X=1"]`, `["A=1"]`. */
  readonly prefixes: readonly string[];
  /**
   * True when `sudo` (or `doas`, `su -c`) was among the prefixes, or the command is inside a
   * `sh -c` string or a script that was run that way (`sudo -n sh -c '...'`).
   */
  readonly sudo: boolean;
  readonly joinedBy?: CommandSeparator;
  /** What the command reads on stdin, when known: a here-document, a pipe from echo/printf/cat, `< FILE` of a file written before. */
  readonly stdin?: ShellText;
  /** The path of a script this command runs (`sh /tmp/x.sh`, `/tmp/x.sh`, `. x.sh`). */
  readonly runsScript?: string;
  /**
   * Text of the files its arguments name that were uploaded or written before it on this host
   * (`sysctl -p /etc/sysctl.d/90-lb.conf`, `nft -f /tmp/nat.nft`), by path.
   */
  readonly argumentFiles?: Readonly<Record<string, string>>;
}

/** A file provisioner upload: the file exists on the host from this point on. */
export interface FileUpload {
  readonly kind: "upload";
  readonly origin: StepOrigin;
  readonly target: HostTarget;
  readonly destination: string;
  /** The uploaded text, when known (`content`, or `source` read next to the stack). */
  readonly content?: string;
  /** The local `source` path, when given. */
  readonly source?: string;
}

/** Something that was not analyzed and why (script not found, non-constant argument, local-exec ...). */
export interface StepNote {
  readonly kind: "note";
  readonly origin: StepOrigin;
  readonly target: HostTarget;
  readonly message: string;
}

/** One thing a provisioner does on its host. */
export type StackStep = StackCommand | FileUpload | StepNote;

/** Files known to exist on each host (key: HostTarget.key) with their text: uploaded or written earlier. */
export type KnownFiles = Map<string, Map<string, string>>;

/** The steps of one resource, and the files known on each host once it has run. */
export interface ResourceSteps {
  readonly resource: StackResource;
  readonly steps: readonly StackStep[];
  readonly filesAfter: KnownFiles;
}

/** Where local-exec runs: the machine running terraform, not a connection host. */
export const LOCAL_MACHINE: HostTarget = { key: "(local machine running terraform)", host: "(local machine running terraform)", port: "", resolved: true };

/** Shells whose `-c STRING` and `FILE` arguments we follow. */
const SHELLS = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"]);
/** Shell reserved words that may start a line before a simple command (`if ipvsadm ...; then`). */
const LEADING_RESERVED = new Set(["if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"]);
/** Reserved words that are complete "commands" on their own and run nothing. */
const ALONE_RESERVED = new Set(["fi", "done", "}", "esac", "else", "then", "do", ";;"]);
/** Nesting deeper than this (a script running itself) is not followed. */
const MAX_NESTING = 8;
/** Values that may replace a `${self.…}` in shell text without changing how it splits into words. */
const SHELL_SAFE = /^[A-Za-z0-9_.:\/@%+,=-]*$/;

/** Options of the prefix commands that take a value, so the value is not taken for the program. */
const PREFIX_OPTIONS_WITH_VALUE: Readonly<Record<string, ReadonlySet<string>>> = {
  sudo: new Set(["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "--user", "--group", "--prompt", "--chdir"]),
  doas: new Set(["-u", "-C"]),
  env: new Set(["-u", "--unset", "-C", "--chdir", "-S", "--split-string"]),
  nice: new Set(["-n", "--adjustment"]),
  command: new Set([]),
  exec: new Set(["-a"]),
  nohup: new Set([]),
  timeout: new Set(["-k", "--kill-after", "-s", "--signal"]),
  stdbuf: new Set(["-i", "-o", "-e"]),
};

/** The words after prefixes (`sudo -n`, `env X=1`, `A=1`, `exec`, `if`), and the prefixes themselves. */
export function stripPrefixes(words: readonly ShellWord[]): { words: ShellWord[]; prefixes: string[]; sudo: boolean } {
  let i = 0;
  const prefixes: string[] = [];
  let sudo = false;
  while (i < words.length) {
    const w = words[i].text;
    if (LEADING_RESERVED.has(w) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) {
      prefixes.push(w);
      i++;
      continue;
    }
    const name = programName(w);
    const withValue = Object.prototype.hasOwnProperty.call(PREFIX_OPTIONS_WITH_VALUE, name) ? PREFIX_OPTIONS_WITH_VALUE[name] : undefined;
    // `command -v ipvsadm` looks a program up; it does not run it.
    if (!withValue || (name === "command" && /^-[vV]$/.test(words[i + 1]?.text ?? ""))) break;
    if (name === "sudo" || name === "doas") sudo = true;
    prefixes.push(w);
    i++;
    // The prefix's own options (and, for env, assignments), then the program.
    while (i < words.length) {
      const o = words[i].text;
      if (o === "--") {
        prefixes.push(o);
        i++;
        break;
      }
      if (name === "env" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(o)) prefixes.push(o);
      else if (name === "timeout" && /^\d+(\.\d+)?[smhd]?$/.test(o)) prefixes.push(o); // the duration
      else if (o.startsWith("-") && o.length > 1) {
        prefixes.push(o);
        if (takesNextWord(o, withValue) && i + 1 < words.length) prefixes.push(words[++i].text);
      } else break;
      i++;
    }
  }
  return { words: words.slice(i), prefixes, sudo };
}

/**
 * Whether option word O (of a prefix command) takes the next word as its value: `-u root`,
 * `--user root`, and grouped short options as getopt reads them: `-nu root` (the last letter
 * takes a value), but not `-uroot` (the value is glued on) nor `--user=root`.
 */
function takesNextWord(o: string, withValue: ReadonlySet<string>): boolean {
  if (o.startsWith("--")) return !o.includes("=") && withValue.has(o);
  for (let j = 1; j < o.length; j++) {
    if (withValue.has(`-${o[j]}`)) return j === o.length - 1;
  }
  return false;
}

/** Everything needed to follow scripts while reading one resource. */
interface ReadContext {
  readonly stack: TerraformStackJson;
  readonly resource: StackResource;
  readonly provisioner: StackProvisioner;
  readonly target: HostTarget;
  readonly files: Map<string, string>;
  readonly steps: StackStep[];
}

/** Reads a script text, appending its commands (and the scripts they run) to `ctx.steps`. */
function readScript(
  ctx: ReadContext,
  script: string,
  source: StepSource,
  nestedIn: readonly NestedIn[],
  lineOf: (line: number) => { source: StepSource; line: number } = (line) => ({ source, line }),
  asRoot = false,
): void {
  const parsed = parseShell(script);
  const origin = (line: number): StepOrigin => {
    const at = nestedIn.length === 0 ? lineOf(line) : { source, line };
    return { resource: ctx.resource.address, provisioner: ctx.provisioner.index, provisionerType: ctx.provisioner.type, when: ctx.provisioner.when, source: at.source, line: at.line, nestedIn };
  };
  for (const problem of parsed.problems) ctx.steps.push({ kind: "note", origin: origin(1), target: ctx.target, message: `shell: ${problem}` });
  let previousOutput: ShellText | undefined;
  for (const raw of parsed.commands) {
    const command = toStackCommand(ctx, raw, origin(raw.line), previousOutput, asRoot);
    previousOutput = undefined;
    if (!command) continue;
    ctx.steps.push(command);
    previousOutput = outputOf(command);
    // What it writes is known from now on (to follow `sh FILE`, `< FILE` and `ipvsadm-restore < FILE`).
    for (const write of fileWritesOf(command)) {
      if (write.content) ctx.files.set(write.path, (write.append ? ctx.files.get(write.path) ?? "" : "") + write.content.text);
      else ctx.files.delete(write.path);
    }
    if (nestedIn.length >= MAX_NESTING) continue;
    const line = command.origin.line;
    // What `sudo sh -c '...'` (or `sudo sh FILE`) runs, runs through sudo too.
    const inner = shellCString(command);
    if (inner !== undefined) readScript(ctx, inner, command.origin.source, [...nestedIn, { kind: "sh -c", line }], undefined, command.sudo);
    else if (command.runsScript !== undefined) {
      const text = ctx.files.get(command.runsScript);
      if (text !== undefined) readScript(ctx, text, command.origin.source, [...nestedIn, { kind: "script", file: command.runsScript, line }], undefined, command.sudo);
    }
  }
}

/**
 * A `${...}` left in a word is a Terraform interpolation we could not resolve (`'${self.id}'`):
 * Terraform fills it in before the shell runs, even inside single quotes, so the word is dynamic.
 */
function markTerraformInterpolations(words: readonly ShellWord[]): ShellWord[] {
  return words.map((w) => (!w.dynamic && w.text.includes("${") ? { text: w.text, dynamic: true } : w));
}

function toStackCommand(ctx: ReadContext, raw: ShellCommand, origin: StepOrigin, pipedIn: ShellText | undefined, asRoot: boolean): StackCommand | undefined {
  const { words, prefixes, sudo } = stripPrefixes(markTerraformInterpolations(raw.words));
  if (words.length === 0 && raw.redirects.length === 0 && prefixes.every((p) => LEADING_RESERVED.has(p))) return undefined;
  if (words.length === 1 && ALONE_RESERVED.has(words[0].text) && raw.redirects.length === 0) return undefined;
  const program = programName(words[0]?.text);
  const stdin = stdinOf(raw, ctx.files, pipedIn);
  const runsScript = scriptRunBy(words, ctx.files);
  const argumentFiles: Record<string, string> = {};
  for (const w of words.slice(1)) {
    const path = w.text.replace(/^(-p|--load=)/, ""); // sysctl's glued forms
    if (!w.dynamic && ctx.files.has(path)) argumentFiles[path] = ctx.files.get(path)!;
  }
  return {
    kind: "command",
    origin,
    target: ctx.target,
    program,
    words,
    redirects: raw.redirects,
    prefixes,
    sudo: asRoot || sudo || (program === "su" && words.some((w) => w.text === "-c")),
    ...(raw.joinedBy !== undefined ? { joinedBy: raw.joinedBy } : {}),
    ...(stdin ? { stdin } : {}),
    ...(runsScript !== undefined ? { runsScript } : {}),
    ...(Object.keys(argumentFiles).length > 0 ? { argumentFiles } : {}),
  };
}

/** A here-document, `< FILE` of a known file, or the output of the command piped in. */
function stdinOf(raw: ShellCommand, files: ReadonlyMap<string, string>, pipedIn: ShellText | undefined): ShellText | undefined {
  for (const r of raw.redirects) {
    if (r.fd !== undefined && r.fd !== 0) continue;
    if ((r.op === "<<" || r.op === "<<-") && r.heredoc !== undefined) return heredocText(r);
    if (r.op === "<" && !r.target.dynamic && files.has(r.target.text)) return { text: files.get(r.target.text)!, dynamic: false };
  }
  return raw.joinedBy === "|" ? pipedIn : undefined;
}

/** The string of `sh -c STRING` / `bash -ec STRING` / `su -c STRING`, if this is such a command. */
function shellCString(command: StackCommand): string | undefined {
  const name = command.program;
  if (!SHELLS.has(name) && name !== "su") return undefined;
  const rest = command.words.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i].text;
    if (w === "-c" || /^-[a-z]*c[a-z]*$/.test(w)) return rest[i + 1]?.text;
    if (!w.startsWith("-") && name !== "su" && name !== "busybox") return undefined; // `sh FILE`: a script, not -c
  }
  return undefined;
}

/** The script a command runs: `sh [opts] FILE`, `. FILE`, `source FILE`, or FILE itself when it is a known file. */
function scriptRunBy(words: readonly ShellWord[], files: ReadonlyMap<string, string>): string | undefined {
  if (words.length === 0) return undefined;
  const first = words[0].text;
  const name = programName(first);
  if (name === "." || name === "source") return words[1]?.text;
  if (SHELLS.has(name) && name !== "busybox") {
    for (const w of words.slice(1)) {
      if (w.text === "-c" || /^-[a-z]*c[a-z]*$/.test(w.text)) return undefined;
      if (w.text.startsWith("-") || w.text.startsWith("+")) continue;
      return w.text;
    }
    return undefined;
  }
  return first.includes("/") && files.has(first) ? first : undefined;
}

/** Text of a JSON argument, if it is text (numbers and booleans printed as Terraform would). */
function textOf(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
}

/** Terraform template text as the shell will see it: known `${self.…}` filled in, `$${` unescaped. */
function shellTextOf(ctx: ReadContext, text: string): string {
  return resolveTemplate(text, ctx.resource, ctx.stack, (v) => SHELL_SAFE.test(v)).replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
}

/** `${file("x.sh")}` (optionally `${path.module}/x.sh`) as a whole inline element: the file's path. */
function fileFunctionPath(text: string): string | undefined {
  const m = /^\s*\$\{\s*file\(\s*"([^"]+)"\s*\)\s*\}\s*$/.exec(text);
  return m ? m[1] : undefined;
}

function readRemoteExec(ctx: ReadContext, origin: (source: StepSource) => StepOrigin): void {
  const note = (source: StepSource, message: string) => ctx.steps.push({ kind: "note", origin: origin(source), target: ctx.target, message });
  const args = ctx.provisioner.args;
  for (const arg of ctx.provisioner.unknownArguments) note({ kind: "provisioner" }, `remote-exec ${arg} is not a constant in the plan; not analyzed`);
  if (Array.isArray(args.inline)) {
    // Terraform runs `inline` as one script, one element per line: a here-document may span elements.
    const elements: { text: string; source: StepSource }[] = [];
    args.inline.forEach((element, index) => {
      const text = textOf(element);
      const file = text === undefined ? undefined : fileFunctionPath(text);
      if (text === undefined) note({ kind: "inline", index }, "inline element is not text; not analyzed");
      else if (file === undefined) elements.push({ text: shellTextOf(ctx, text), source: { kind: "inline", index } });
      else {
        const read = readStackFile(ctx.stack, file);
        if ("problem" in read) note({ kind: "inline", index, file }, read.problem);
        else elements.push({ text: read.text, source: { kind: "inline", index, file } });
      }
    });
    const starts: number[] = [];
    let line = 1;
    for (const e of elements) {
      starts.push(line);
      line += e.text.split("\n").length;
    }
    const lineOf = (at: number) => {
      let i = starts.length - 1;
      while (i > 0 && starts[i] > at) i--;
      return { source: elements[i]?.source ?? { kind: "provisioner" as const }, line: at - (starts[i] ?? 1) + 1 };
    };
    if (elements.length > 0) readScript(ctx, elements.map((e) => e.text).join("\n"), elements[0].source, [], lineOf);
  }
  const scripts = [...(textOf(args.script) !== undefined ? [textOf(args.script)!] : []), ...(Array.isArray(args.scripts) ? args.scripts.map(textOf).filter((s): s is string => s !== undefined) : [])];
  for (const file of scripts) {
    const read = readStackFile(ctx.stack, file);
    if ("problem" in read) note({ kind: "script", file }, read.problem);
    else readScript(ctx, read.text, { kind: "script", file }, []);
  }
}

function readFileProvisioner(ctx: ReadContext, origin: (source: StepSource) => StepOrigin): void {
  const source: StepSource = { kind: "file-provisioner" };
  const args = ctx.provisioner.args;
  const destinationText = textOf(args.destination);
  if (destinationText === undefined) {
    ctx.steps.push({ kind: "note", origin: origin(source), target: ctx.target, message: "file provisioner destination is not known; not analyzed" });
    return;
  }
  const destination = resolveTemplate(destinationText, ctx.resource, ctx.stack);
  let content = textOf(args.content);
  const sourcePath = textOf(args.source);
  if (content === undefined && sourcePath !== undefined) {
    const read = readStackFile(ctx.stack, sourcePath);
    if ("problem" in read) ctx.steps.push({ kind: "note", origin: origin(source), target: ctx.target, message: read.problem });
    else content = read.text;
  }
  if (content === undefined && sourcePath === undefined) {
    ctx.steps.push({ kind: "note", origin: origin(source), target: ctx.target, message: "file provisioner content is not a constant; not analyzed" });
  }
  if (content !== undefined) ctx.files.set(destination, content);
  else ctx.files.delete(destination);
  ctx.steps.push({ kind: "upload", origin: origin(source), target: ctx.target, destination, ...(content !== undefined ? { content } : {}), ...(sourcePath !== undefined ? { source: sourcePath } : {}) });
}

function copyFiles(files: KnownFiles): KnownFiles {
  return new Map([...files].map(([host, byPath]) => [host, new Map(byPath)]));
}

/**
 * The steps of a resource's provisioners, in order. `filesBefore` holds files known on each host
 * before this resource runs (uploads and writes of resources ordered before it), so that a script
 * uploaded by one resource and run by a later one is read too.
 */
export function resourceSteps(stack: TerraformStackJson, resource: StackResource, filesBefore: KnownFiles = new Map()): ResourceSteps {
  const files = copyFiles(filesBefore);
  const steps: StackStep[] = [];
  for (const provisioner of resource.provisioners) {
    const target = provisioner.type === "local-exec" ? LOCAL_MACHINE : targetOf(stack, resource, provisioner);
    if (!files.has(target.key)) files.set(target.key, new Map());
    const ctx: ReadContext = { stack, resource, provisioner, target, files: files.get(target.key)!, steps };
    const origin = (source: StepSource): StepOrigin => ({ resource: resource.address, provisioner: provisioner.index, provisionerType: provisioner.type, when: provisioner.when, source, line: 1, nestedIn: [] });
    if (provisioner.type === "remote-exec") readRemoteExec(ctx, origin);
    else if (provisioner.type === "file") readFileProvisioner(ctx, origin);
    else if (provisioner.type === "local-exec") {
      const command = textOf(provisioner.args.command) ?? "";
      if (/(^|[\s;&|(])ssh\s/.test(command)) steps.push({ kind: "note", origin: origin({ kind: "provisioner" }), target, message: "local-exec runs ssh; commands sent over it are not analyzed" });
    }
  }
  return { resource, steps, filesAfter: files };
}
