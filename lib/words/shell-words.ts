/**
 * A POSIX sh tokenizer for reading commands, not for running them: it splits a script the way
 * sh would (quotes, backslashes, line continuations, `;` `&&` `||` `|` `&`, comments,
 * redirections, here-documents) into simple commands made of words. Hand-written provisioners
 * (`inline = ["ipvsadm -A -t 172.16.1.8:1000 -s rr && sysctl -w net.ipv4.vs.conntrack=1"]`) are
 * read with it, so that policy sees the commands a host would run, not substrings of text.
 *
 * Expansions ($VAR, $(...), `...`, ${...}) are kept as written and mark the word dynamic: its text
 * is then not exactly what runs, and a reader should not trust it as a literal.
 */

export interface ShellWord {
  /** The word after quote removal (expansions kept as written). */
  readonly text: string;
  /** True when part of the word is expanded at run time. */
  readonly dynamic: boolean;
}

export type RedirectOp = ">" | ">>" | "<" | "<<" | "<<-" | ">&" | "<&" | ">|" | "<>";

export interface ShellRedirect {
  /** The file descriptor written before the operator (`2>`), if any. */
  readonly fd?: number;
  readonly op: RedirectOp;
  /** File name, fd number or here-document delimiter. */
  readonly target: ShellWord;
  /** Body of a here-document (`<<EOF`), with `<<-` leading tabs removed. */
  readonly heredoc?: string;
  /**
   * For a here-document: true when its delimiter was quoted (`<<'EOF'`, `<<"EOF"`, `<<\EOF`), so
   * sh takes the body literally; false when sh expands $VAR and $(...) in it.
   */
  readonly heredocLiteral?: boolean;
}

export type CommandSeparator = ";" | "&&" | "||" | "|" | "&" | "\n";

export interface ShellCommand {
  readonly words: readonly ShellWord[];
  readonly redirects: readonly ShellRedirect[];
  /** How this command was joined to the one before it (undefined for the first). */
  readonly joinedBy?: CommandSeparator;
  /** 1-based line where the command starts. */
  readonly line: number;
}

export interface ShellParse {
  readonly commands: readonly ShellCommand[];
  /** What could not be read (an unterminated quote, a here-document without its end). */
  readonly problems: readonly string[];
}

const OPERATORS: readonly string[] = ["&&", "||", ";;", ";", "&", "|", "(", ")", "\n"];
const REDIRECTS: readonly RedirectOp[] = ["<<-", "<<", ">>", ">&", "<&", ">|", "<>", ">", "<"];

interface PendingHeredoc {
  readonly delimiter: string;
  readonly stripTabs: boolean;
  readonly set: (body: string) => void;
}

/** Splits a script into simple commands. Never throws; unreadable parts land in `problems`. */
export function parseShell(script: string): ShellParse {
  return new Reader(script).read();
}

class Reader {
  private pos = 0;
  private line = 1;
  private readonly problems: string[] = [];
  private readonly commands: ShellCommand[] = [];
  private pendingHeredocs: PendingHeredoc[] = [];

  constructor(private readonly src: string) {}

  read(): ShellParse {
    let words: ShellWord[] = [];
    let redirects: { fd?: number; op: RedirectOp; target: ShellWord; heredoc?: string; heredocLiteral?: boolean }[] = [];
    let joinedBy: CommandSeparator | undefined;
    let startLine = this.line;
    const finish = (sep: CommandSeparator | undefined) => {
      if (words.length > 0 || redirects.length > 0) {
        this.commands.push({ words, redirects, joinedBy, line: startLine });
        joinedBy = sep;
      } else if (sep !== undefined && sep !== "\n") {
        joinedBy = sep; // `a &&` newline `b`: the newline does not undo the &&
      }
      words = [];
      redirects = [];
      startLine = this.line;
    };

    while (this.pos < this.src.length) {
      this.skipBlanks();
      if (this.pos >= this.src.length) break;
      const c = this.src[this.pos];
      if (c === "#") {
        while (this.pos < this.src.length && this.src[this.pos] !== "\n") this.pos++;
        continue;
      }
      const op = OPERATORS.find((o) => this.src.startsWith(o, this.pos));
      if (op) {
        this.pos += op.length;
        if (op === "\n") {
          this.line++;
          this.readHeredocBodies();
        }
        // Subshell parentheses and `;;` only group commands; for reading they separate them.
        const sep: CommandSeparator = op === "(" || op === ")" || op === ";;" ? ";" : (op as CommandSeparator);
        finish(sep);
        continue;
      }
      const redirect = this.readRedirectOperator();
      if (redirect) {
        this.skipBlanks();
        const targetStart = this.pos;
        const target = this.readWord();
        if (!target) {
          this.problems.push(`line ${this.line}: redirection ${redirect.op} has no target`);
          continue;
        }
        const entry: { fd?: number; op: RedirectOp; target: ShellWord; heredoc?: string; heredocLiteral?: boolean } = { ...redirect, target };
        if (redirect.op === "<<" || redirect.op === "<<-") {
          entry.heredocLiteral = /['"\\]/.test(this.src.slice(targetStart, this.pos));
          this.pendingHeredocs.push({ delimiter: target.text, stripTabs: redirect.op === "<<-", set: (body) => (entry.heredoc = body) });
        }
        redirects.push(entry);
        continue;
      }
      const word = this.readWord();
      if (word) words.push(word);
      else this.pos++; // cannot happen with the operator/blank checks above; never loop forever
    }
    finish(undefined);
    if (this.pendingHeredocs.length > 0) {
      this.problems.push(`here-document ending in ${this.pendingHeredocs.map((h) => JSON.stringify(h.delimiter)).join(", ")} is not terminated`);
    }
    return { commands: this.commands, problems: this.problems };
  }

  private skipBlanks(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === " " || c === "\t" || c === "\r") this.pos++;
      else if (c === "\\" && this.src[this.pos + 1] === "\n") {
        this.pos += 2; // line continuation
        this.line++;
      } else return;
    }
  }

  /** `2>`, `>>`, `<<-` ... at the current position (an fd only when digits touch the operator). */
  private readRedirectOperator(): { fd?: number; op: RedirectOp } | undefined {
    const m = /^(\d*)(<<-|<<|>>|>&|<&|>\||<>|>|<)/.exec(this.src.slice(this.pos, this.pos + 16));
    if (!m) return undefined;
    this.pos += m[0].length;
    const op = REDIRECTS.find((r) => r === m[2])!;
    return m[1] ? { fd: Number(m[1]), op } : { op };
  }

  private readWord(): ShellWord | undefined {
    let text = "";
    let dynamic = false;
    let any = false;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === " " || c === "\t" || c === "\r" || c === "\n") break;
      if (OPERATORS.some((o) => this.src.startsWith(o, this.pos)) || /^[<>]/.test(c)) break;
      any = true;
      if (c === "\\") {
        const next = this.src[this.pos + 1];
        if (next === "\n") {
          this.line++;
        } else if (next !== undefined) text += next;
        this.pos += 2;
      } else if (c === "'") {
        const end = this.src.indexOf("'", this.pos + 1);
        if (end < 0) return this.unterminated("'", text);
        const part = this.src.slice(this.pos + 1, end);
        this.line += countNewlines(part);
        text += part;
        this.pos = end + 1;
      } else if (c === '"') {
        const part = this.readDoubleQuoted();
        if (part === undefined) return this.unterminated('"', text);
        text += part.text;
        dynamic ||= part.dynamic;
      } else if (c === "$" && this.src[this.pos + 1] === "'") {
        const part = this.readAnsiC();
        if (part === undefined) return this.unterminated("$'", text);
        text += part;
      } else if (c === "$" || c === "`") {
        const part = this.readExpansion();
        if (part === undefined) return this.unterminated(c === "`" ? "`" : "$(", text);
        text += part.text;
        dynamic ||= part.dynamic;
      } else {
        text += c;
        this.pos++;
      }
    }
    return any ? { text, dynamic } : undefined;
  }

  private unterminated(quote: string, soFar: string): ShellWord {
    this.problems.push(`line ${this.line}: unterminated ${quote}`);
    const rest = this.src.slice(this.pos);
    this.pos = this.src.length;
    return { text: soFar + rest, dynamic: true };
  }

  /** "..." : backslash escapes only $ ` " \ and newline; expansions inside stay as written. */
  private readDoubleQuoted(): { text: string; dynamic: boolean } | undefined {
    let text = "";
    let dynamic = false;
    this.pos++;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === '"') {
        this.pos++;
        return { text, dynamic };
      }
      if (c === "\\") {
        const next = this.src[this.pos + 1];
        if (next === "\n") this.line++;
        else if (next !== undefined && "$`\"\\".includes(next)) text += next;
        else text += c + (next ?? "");
        this.pos += 2;
      } else if (c === "$" || c === "`") {
        const part = this.readExpansion();
        if (part === undefined) return undefined;
        text += part.text;
        dynamic ||= part.dynamic;
      } else {
        if (c === "\n") this.line++;
        text += c;
        this.pos++;
      }
    }
    return undefined;
  }

  /** bash's $'...' (dash has none, but provisioners often run bash): common escapes decoded. */
  private readAnsiC(): string | undefined {
    const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', a: "\x07", e: "\x1b", "0": "\0" };
    let text = "";
    this.pos += 2;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === "'") {
        this.pos++;
        return text;
      }
      if (c === "\\" && this.pos + 1 < this.src.length) {
        const next = this.src[this.pos + 1];
        text += Object.prototype.hasOwnProperty.call(escapes, next) ? escapes[next] : `\\${next}`;
        this.pos += 2;
      } else {
        text += c;
        this.pos++;
      }
    }
    return undefined;
  }

  /** $NAME, ${...}, $(...), $((...)), `...`: kept as written; a lone `$` is a literal dollar. */
  private readExpansion(): { text: string; dynamic: boolean } | undefined {
    const start = this.pos;
    const c = this.src[this.pos];
    if (c === "`") {
      let i = this.pos + 1;
      while (i < this.src.length && this.src[i] !== "`") i += this.src[i] === "\\" ? 2 : 1;
      if (i >= this.src.length) return undefined;
      this.pos = i + 1;
      return this.expansion(start);
    }
    const next = this.src[this.pos + 1];
    if (next === "(" || next === "{") {
      const end = matchingClose(this.src, this.pos + 1);
      if (end < 0) return undefined;
      this.pos = end + 1;
      return this.expansion(start);
    }
    const name = /^\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])/.exec(this.src.slice(this.pos, this.pos + 256));
    if (name) {
      this.pos += name[0].length;
      return this.expansion(start);
    }
    this.pos++;
    return { text: "$", dynamic: false };
  }

  private expansion(start: number): { text: string; dynamic: boolean } {
    const text = this.src.slice(start, this.pos);
    this.line += countNewlines(text);
    return { text, dynamic: true };
  }

  /** After a newline: the bodies of here-documents opened on the line just ended. */
  private readHeredocBodies(): void {
    const pending = this.pendingHeredocs;
    this.pendingHeredocs = [];
    for (let i = 0; i < pending.length; i++) {
      const h = pending[i];
      const lines: string[] = [];
      let found = false;
      while (this.pos < this.src.length) {
        const nl = this.src.indexOf("\n", this.pos);
        const raw = this.src.slice(this.pos, nl < 0 ? this.src.length : nl);
        this.pos = nl < 0 ? this.src.length : nl + 1;
        this.line++;
        const line = h.stripTabs ? raw.replace(/^\t+/, "") : raw;
        if (line === h.delimiter) {
          found = true;
          break;
        }
        lines.push(line);
      }
      h.set(lines.length ? `${lines.join("\n")}\n` : "");
      if (!found) {
        this.pendingHeredocs = pending.slice(i);
        return;
      }
    }
  }
}

/** Index of the bracket closing the one at `open` ("(" or "{"), skipping quoted text; -1 if none. */
function matchingClose(src: string, open: number): number {
  const stack: string[] = [src[open] === "(" ? ")" : "}"];
  let i = open + 1;
  while (i < src.length && stack.length > 0) {
    const c = src[i];
    if (c === "\\") i += 2;
    else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) return -1;
      i = end + 1;
    } else {
      if (c === "(") stack.push(")");
      else if (c === "{") stack.push("}");
      else if (c === stack[stack.length - 1]) stack.pop();
      i++;
    }
  }
  return stack.length === 0 ? i - 1 : -1;
}

function countNewlines(text: string): number {
  let n = 0;
  for (const ch of text) if (ch === "\n") n++;
  return n;
}
