/**
 * One error type for the whole model. Every problem names where it is (a construct path or a
 * spec path), the prop, the offending value and what is allowed, so constructs and the CLI
 * print it the same way.
 */
export interface ModelIssue {
  /** Construct path (`stack/lb1/app`) or spec path (`spec.hosts[0].virtualServices[1]`). */
  readonly path: string;
  /** The prop that is wrong, e.g. `weight`. */
  readonly prop: string;
  /** The value as given. */
  readonly value: unknown;
  /** Full sentence: what is wrong and what is allowed. */
  readonly message: string;
}

export class IpvsModelError extends Error {
  constructor(public readonly issues: readonly ModelIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "IpvsModelError";
  }
}

export function formatIssue(issue: ModelIssue): string {
  return `${issue.path}: ${issue.message}`;
}

/** Renders a user value for an error message without letting it run on for pages. */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (value === undefined) text = "undefined";
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Collects issues while a spec is checked, so one run reports every problem at once. */
export class IssueCollector {
  private readonly list: ModelIssue[] = [];

  add(path: string, prop: string, value: unknown, problem: string): void {
    this.list.push({ path, prop, value, message: `${prop} ${showValue(value)} ${problem}` });
  }

  /** For problems that are about a relation rather than one value (collisions, pairings). */
  addMessage(path: string, prop: string, value: unknown, message: string): void {
    this.list.push({ path, prop, value, message });
  }

  get issues(): readonly ModelIssue[] {
    return this.list;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new IpvsModelError(this.list);
  }
}
