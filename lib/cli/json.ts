/**
 * Every JSON file the CLI reads (spec, plan, cdk.tf.json, policy targets) is read here, so that a
 * malformed one is reported the same way everywhere, as compilers do:
 *
 *   FILE:LINE:COLUMN: spec is not valid JSON: expected property name or '}'
 *
 * LINE and COLUMN are 1-based; a line ends at \n, \r\n or \r; COLUMN counts characters (Unicode
 * code points) from the start of the line. The offset is the one JSON.parse reports ("... in
 * JSON at position N"); some of its messages carry none ("Unexpected token 'x', ... is not valid
 * JSON", "Unexpected end of JSON input"), so the offset is then found by syntaxErrorOffset, a
 * scanner of the same grammar.
 */
import * as fs from "fs";

/** Where a text stops being JSON, and why. */
export interface JsonSyntaxProblem {
  /** UTF-16 offset into the text, as JSON.parse counts; text.length for a text that ends too early. */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/**
 * The offset of the first character at which `text` stops being JSON (RFC 8259, as JSON.parse
 * reads it), text.length when it ends too early, or undefined when it is JSON. Iterative, so any
 * nesting depth is fine.
 */
export function syntaxErrorOffset(text: string): number | undefined {
  const n = text.length;
  let i = 0;
  const open: ("{" | "[")[] = [];
  const skipWs = () => {
    while (i < n && WS.has(text[i])) i++;
  };
  /** Reads a string starting at text[i] === '"'; returns the offset of an error, or undefined. */
  const string = (): number | undefined => {
    i++;
    for (;;) {
      if (i >= n) return n;
      const c = text[i];
      if (c === '"') {
        i++;
        return undefined;
      }
      if (c.charCodeAt(0) < 0x20) return i;
      if (c !== "\\") {
        i++;
        continue;
      }
      i++;
      if (i >= n) return n;
      if (ESCAPES.has(text[i])) {
        i++;
        continue;
      }
      if (text[i] !== "u") return i;
      for (let k = 1; k <= 4; k++) if (!isHex(text[i + k])) return Math.min(i + k, n);
      i += 5;
    }
  };
  const number = (): number | undefined => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else if (isDigit(text[i])) while (isDigit(text[i])) i++;
    else return Math.min(i, n);
    if (text[i] === ".") {
      i++;
      if (!isDigit(text[i])) return Math.min(i, n);
      while (isDigit(text[i])) i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (!isDigit(text[i])) return Math.min(i, n);
      while (isDigit(text[i])) i++;
    }
    return undefined;
  };
  /** After `{` or `,` in an object: a key and its colon. */
  const key = (): number | undefined => {
    skipWs();
    if (text[i] !== '"') return Math.min(i, n);
    const bad = string();
    if (bad !== undefined) return bad;
    skipWs();
    if (text[i] !== ":") return Math.min(i, n);
    i++;
    return undefined;
  };

  let wantValue = true;
  for (;;) {
    skipWs();
    if (wantValue) {
      if (i >= n) return n;
      const c = text[i];
      if (c === "{") {
        i++;
        skipWs();
        if (text[i] === "}") {
          i++;
          wantValue = false;
          continue;
        }
        open.push("{");
        const bad = key();
        if (bad !== undefined) return bad;
        continue;
      }
      if (c === "[") {
        i++;
        skipWs();
        if (text[i] === "]") {
          i++;
          wantValue = false;
          continue;
        }
        open.push("[");
        continue;
      }
      let bad: number | undefined;
      if (c === '"') bad = string();
      else if (c === "-" || isDigit(c)) bad = number();
      else {
        const literal = ["true", "false", "null"].find((l) => l[0] === c);
        if (!literal) return i;
        for (const expected of literal) {
          if (i >= n) return n;
          if (text[i] !== expected) return i;
          i++;
        }
      }
      if (bad !== undefined) return bad;
      wantValue = false;
      continue;
    }
    const top = open[open.length - 1];
    if (top === undefined) return i < n ? i : undefined;
    if (i >= n) return n;
    const c = text[i];
    if (c === ",") {
      i++;
      wantValue = true;
      if (top === "{") {
        const bad = key();
        if (bad !== undefined) return bad;
      }
      continue;
    }
    if ((top === "{" && c === "}") || (top === "[" && c === "]")) {
      i++;
      open.pop();
      continue;
    }
    return i;
  }
}

/** 1-based line and column (in code points) of a UTF-16 offset; an offset past the end is the end. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const end = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let start = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      start = i + 1;
    }
  }
  let column = 1;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is one character; a lone surrogate counts as one.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    column++;
  }
  return { line, column };
}

/** The reason of a JSON.parse message, without the position and the quoted text V8 adds. */
function reasonOf(message: string): string {
  const reason = message
    .replace(/ in JSON at position \d+(?: \(line \d+ column \d+\))?$/s, "")
    .replace(/^(Unexpected token '[^]*?'), (?:\.\.\.)?"[^]*"(?:\.\.\.)? is not valid JSON$/, "$1")
    .replace(/^Unexpected end of JSON input$/, "Unexpected end of input");
  return reason.length > 0 ? reason[0].toLowerCase() + reason.slice(1) : "not JSON";
}

/**
 * Where and why `text` is not JSON, from the error JSON.parse threw for it. The position in its
 * message is used when there is one, else the scanner's.
 */
export function jsonSyntaxProblem(text: string, error: unknown): JsonSyntaxProblem {
  const message = error instanceof Error ? error.message : String(error);
  const given = /in JSON at position (\d+)/.exec(message);
  const scanned = syntaxErrorOffset(text);
  const offset = given ? Math.min(Number(given[1]), text.length) : (scanned ?? text.length);
  const reason = text.charCodeAt(0) === 0xfeff && offset === 0 ? "the file starts with a byte order mark (U+FEFF); save it as UTF-8 without one" : reasonOf(message);
  return { offset, ...lineColumn(text, offset), reason };
}

/** Makes the error a reader throws: each caller has its own class (all exit 2 in the CLI). */
export type JsonErrorFactory = (message: string) => Error;

/** Parses `text` read from `file`; a syntax error throws `FILE:LINE:COLUMN: WHAT is not valid JSON: REASON`. */
export function parseJsonText(text: string, file: string, what: string, makeError: JsonErrorFactory): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const p = jsonSyntaxProblem(text, e);
    throw makeError(`${file}:${p.line}:${p.column}: ${what} is not valid JSON: ${p.reason}`);
  }
}

/** Reads and parses a JSON file: `cannot read WHAT FILE: ...`, or the syntax error of parseJsonText. */
export function readJsonFile(file: string, what: string, makeError: JsonErrorFactory): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw makeError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  return parseJsonText(text, file, what, makeError);
}
