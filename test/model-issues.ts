/** Reading the model's errors in tests: what an IpvsModelError reports, as lines or as issues. */
import { IpvsModelError, ModelIssue } from "../lib/model";

/**
 * "PATH: MESSAGE" for each issue RUN throws as an IpvsModelError, or ["(no error)"] when it throws
 * nothing; any other error is thrown on. `others: "line"` turns it into "(threw ERROR)" instead.
 */
export function issueLines(run: () => unknown, options: { others?: "throw" | "line" } = {}): string[] {
  try {
    run();
    return ["(no error)"];
  } catch (e) {
    if (e instanceof IpvsModelError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    if (options.others === "line") return [`(threw ${String(e)})`];
    throw e;
  }
}

/** The issues BUILD throws as an IpvsModelError; fails the test when it throws nothing. */
export function modelIssues(build: () => unknown): ModelIssue[] {
  try {
    build();
  } catch (e) {
    if (e instanceof IpvsModelError) return [...e.issues];
    throw e;
  }
  throw new Error("expected an IpvsModelError, but nothing was thrown");
}
