/**
 * One error type for the whole model. Every problem names where it is (a construct path or a
 * spec path), the prop, the offending value and what is allowed, so constructs and the CLI
 * print it the same way.
 */
/** One problem in a declaration: where, which prop, the value given and what is allowed. */
export interface ModelIssue {
  /** Construct path (`stack/lb1/app`) or spec path (`spec.hosts[0].virtualServices[1]`). */
  readonly path: string;
  /** The prop that is wrong, e.g. `weight`; printable (see printable()). */
  readonly prop: string;
  /** The value as given. */
  readonly value: unknown;
  /** Full sentence: what is wrong and what is allowed; printable (see printable()). */
  readonly message: string;
}

/**
 * Thrown for an invalid declaration (construct props, a spec.json entry), with every problem found
 * in the run; its message is one formatIssue line per issue.
 */
export class IpvsModelError extends Error {
  /** Every problem found, with prop and message made printable. */
  public readonly issues: readonly ModelIssue[];
  constructor(issues: readonly ModelIssue[]) {
    // Whoever built an issue, its prop and message leave here printable (they quote user text).
    const safe = issues.map((i) => ({ ...i, prop: printable(i.prop, MAX_PROP), message: printable(i.message, MAX_MESSAGE) }));
    super(safe.map(formatIssue).join("\n"));
    this.issues = safe;
    this.name = "IpvsModelError";
  }
}

/** Longest issue line formatIssue prints. */
const MAX_ISSUE_LINE = 4000;
/** Longest message IssueCollector keeps. */
const MAX_MESSAGE = 2000;
/** Longest prop name IssueCollector keeps (a misspelt prop can be any length). */
const MAX_PROP = 100;

/** The path and message of an issue on one line, safe to print to a terminal. */
export function formatIssue(issue: ModelIssue): string {
  return printable(`${issue.path}: ${issue.message}`, MAX_ISSUE_LINE);
}

/**
 * Characters a terminal must not receive from user input: C0 controls (ESC starts escape
 * sequences), DEL, C1 controls (U+009B is a one-byte CSI), the Unicode line and paragraph
 * separators, bidi embeddings, overrides and isolates (they reorder what is shown), the
 * marks LRM, RLM and ALM, and lone surrogates.
 */
const UNPRINTABLE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Makes user-supplied text safe to print: every control or bidi character becomes a `\uXXXX`
 * escape (ESC → `\u001b`) and text longer than `max` is cut, ending in "...". Backslashes are
 * kept as they are, so printable(printable(x)) === printable(x) for text within `max`.
 */
export function printable(text: string, max = 200): string {
  const escaped = String(text).replace(UNPRINTABLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (escaped.length <= max) return escaped;
  let cut = Math.max(0, max - 3);
  // Never cut inside an escape we just wrote (`\u00` + `1b`) or between the halves of a surrogate pair.
  const tail = escaped.slice(Math.max(0, cut - 5), cut);
  const partial = tail.match(/\\u[0-9a-f]{0,3}$|\\$/);
  if (partial) cut -= partial[0].length;
  const code = escaped.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${escaped.slice(0, cut)}...`;
}

/** Renders a user value for an error message: quoted if text, printable, at most 80 characters. */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (value === undefined) text = "undefined";
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      try {
        text = String(value);
      } catch {
        text = Object.prototype.toString.call(value);
      }
    }
  }
  return printable(text, 80);
}

/** Collects issues while a spec is checked, so one run reports every problem at once. */
export class IssueCollector {
  private readonly list: ModelIssue[] = [];
  private reports = 0;

  /** `<prop> <value> <problem>`; prop and value are made printable here. */
  add(path: string, prop: string, value: unknown, problem: string): void {
    const shownProp = printable(prop, MAX_PROP);
    this.reports++;
    this.push({ path, prop: shownProp, value, message: printable(`${shownProp} ${showValue(value)} ${problem}`, MAX_MESSAGE) });
  }

  /** For problems that are about a relation rather than one value (collisions, pairings). */
  addMessage(path: string, prop: string, value: unknown, message: string): void {
    this.reports++;
    this.push({ path, prop: printable(prop, MAX_PROP), value, message: printable(message, MAX_MESSAGE) });
  }

  /** Every add and addMessage ends here; subclasses may filter. */
  protected push(issue: ModelIssue): void {
    this.list.push(issue);
  }

  /**
   * How many problems were reported, including any a subclass chose not to keep: compare it
   * before and after checking a part to know whether that part is sound.
   */
  get reportCount(): number {
    return this.reports;
  }

  get issues(): readonly ModelIssue[] {
    return this.list;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new IpvsModelError(this.list);
  }
}
