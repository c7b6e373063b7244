/** The two halves of the property, shared by the spec and the construct suites. */
import * as fs from "fs";
import { IpvsModelError } from "../../lib/model";
import { ScriptBatch, describe as show, firstUnprintable, issueNames, placementProblems, stringsIn } from "./support";

type Scripts = Readonly<Record<string, string>>;

/** Checks a rejection; returns the problem, or undefined when it is a good one. */
export function rejectionProblem(e: unknown, targets: readonly string[]): string | undefined {
  if (!(e instanceof IpvsModelError)) {
    const err = e as Error;
    return `threw ${err?.constructor?.name ?? typeof e} instead of IpvsModelError: ${show(err?.message ?? e)}${err?.stack ? ` at ${show(err.stack.split("\n")[1]?.trim())}` : ""}`;
  }
  if (!e.issues.some((i) => targets.some((t) => issueNames(i.path, i.prop, t)))) {
    return `IpvsModelError names the wrong place: wanted ${targets.map(show).join(" or ")}, got ${e.issues.map((i) => `${show(i.path)} prop ${show(i.prop)}`).join("; ")}`;
  }
  for (const issue of e.issues) {
    const bad = firstUnprintable(issue.message);
    if (bad) return `issue message is not printable (${bad}): ${show(issue.message)}`;
    const badPath = firstUnprintable(issue.path);
    if (badPath) return `issue path is not printable (${badPath}): ${show(issue.path)}`;
    const badProp = firstUnprintable(issue.prop);
    if (badProp) return `issue prop is not printable (${badProp}): ${show(issue.prop)}`;
  }
  const badAll = firstUnprintable(e.message, "\n");
  if (badAll) return `error message is not printable (${badAll}): ${show(e.message)}`;
  return undefined;
}

/** Checks rendered scripts of an accepted host; returns the problem, or undefined. */
export function acceptedProblem(batch: ScriptBatch, label: string, scripts: Scripts, baseline: Scripts, values: readonly unknown[]): string | undefined {
  batch.add(label, scripts);
  for (const [name, text] of Object.entries(scripts)) {
    const bad = firstUnprintable(text, "\n\t");
    if (bad) return `accepted, but ${name} holds an unprintable character (${bad}) near ${show(text.slice(Math.max(0, Number(bad.split(" ").pop()) - 40), Number(bad.split(" ").pop()) + 20))}`;
  }
  const problems = placementProblems(scripts, baseline, values.flatMap((v) => stringsIn(v)));
  if (problems.length > 0) {
    const p = problems[0];
    return `accepted, but ${p.script} has ${show(p.value)} at ${p.count} live (unquoted) position(s) (seed: ${p.baseline}); line: ${show(p.context)}`;
  }
  return undefined;
}


/** Survey rows (field TAB value TAB problem) to $PROP_SURVEY_OUT-<name>.tsv, or the console. */
export function writeSurvey(name: string, rows: readonly string[]): void {
  const text = rows.join("\n") + "\n";
  const out = process.env.PROP_SURVEY_OUT;
  if (out) fs.writeFileSync(`${out}-${name}.tsv`, text);
  else console.log(`${rows.length} problem(s):\n${text}`); // eslint-disable-line no-console
}
