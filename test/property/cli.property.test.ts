/**
 * Property: `cdktf-ipvs` (runCli) never throws on hostile input — spec files with hostile values,
 * files that are not JSON, hostile option values, hostile answers from a host — it returns an
 * exit code, and everything it prints is printable (no C0 controls but \n and \t, no ESC, no C1,
 * no U+2028/2029, no bidi controls, no lone surrogates).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { runCli } from "../../lib/cli";
import { SPEC_FIELDS, mutate } from "./fields";
import { FC_SEED, HOSTILE_STRINGS, configureFastCheck, describe as show, firstUnprintable, hostileString, runs } from "./support";

configureFastCheck();

let tmp: string;
let counter = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-prop-cli-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  code: unknown;
  out: string[];
  err: string[];
}

/** A runner that answers with `stdout`/`code`, as a hostile or broken host might. */
function fakeDeps(answer: { code: number; stdout: string; stderr: string }) {
  return { runner: () => ({ run: () => answer }) };
}

function run(argv: string[], deps?: unknown): Outcome {
  const out: string[] = [];
  const err: string[] = [];
  let code: unknown;
  try {
    code = (runCli as (a: string[], io: unknown, d?: unknown) => number)(argv, { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, deps);
  } catch (e) {
    throw new Error(`runCli ${show(argv)} threw ${(e as Error)?.constructor?.name}: ${show((e as Error)?.message ?? e)}`);
  }
  return { code, out, err };
}

function checkOutcome(what: string, o: Outcome): void {
  if (typeof o.code !== "number" || !Number.isInteger(o.code)) throw new Error(`${what}: exit code ${show(o.code)} is not an integer`);
  for (const [stream, lines] of [
    ["stdout", o.out],
    ["stderr", o.err],
  ] as const) {
    for (const line of lines) {
      if (typeof line !== "string") throw new Error(`${what}: printed a ${typeof line} on ${stream}`);
      const bad = firstUnprintable(line, "\n\t");
      if (bad) throw new Error(`${what}: ${stream} is not printable (${bad}): ${show(line)}`);
    }
  }
}

function writeSpecText(text: string): string {
  const file = path.join(tmp, `spec-${counter++}.json`);
  fs.writeFileSync(file, text);
  return file;
}

function checkSpecFile(file: string, label: string): void {
  for (const argv of [
    ["plan", "--spec", file],
    ["check", "--spec", file],
    ["check", "--spec", file, "--strict"],
    ["render", "--spec", file, "--out", path.join(tmp, `out-${counter++}`)],
  ]) {
    checkOutcome(`${label}: cdktf-ipvs ${argv[0]}`, run(argv));
  }
}

describe(`cdktf-ipvs on spec files with hostile values (fast-check seed ${FC_SEED})`, () => {
  const jsonFields = SPEC_FIELDS;
  test("one hostile field per spec: plan, check, render never throw and print only printable text", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...jsonFields.map((f) => f.label)).chain((label) => fc.tuple(fc.constant(label), jsonFields.find((f) => f.label === label)!.arb)),
        ([label, value]) => {
          const field = jsonFields.find((f) => f.label === label)!;
          let text: string;
          try {
            text = JSON.stringify({ hosts: [mutate(field, value)] });
          } catch {
            return; // not expressible as JSON (never happens for these values, but be safe)
          }
          checkSpecFile(writeSpecText(text), `${field.label}=${show(value)}`);
        },
      ),
      { numRuns: runs(120) },
    );
  });

  test("files that are not a JSON spec", () => {
    const texts = fc.oneof(
      fc.constantFrom(...HOSTILE_STRINGS),
      fc.constantFrom(...HOSTILE_STRINGS).map((s) => `{"hosts": [{"name": "${s}"}]}`),
      fc.constantFrom(...HOSTILE_STRINGS).map((s) => `{"hosts": [{"name": ${JSON.stringify(s)}}], ${JSON.stringify(s)}: 1}`),
      fc.constantFrom(...HOSTILE_STRINGS).map((s) => `${s}{"hosts": []}`),
      fc.constantFrom('{"hosts": [', "[", "null", "1", '"x"', '{"hosts": {}}', '{"hosts": [null]}', '{"__proto__": {"hosts": []}}', "\ufeff{\"hosts\": []}"),
      fc.string({ unit: "binary", maxLength: 40 }),
    );
    fc.assert(
      fc.property(texts, (text) => checkSpecFile(writeSpecText(text), `file text ${show(text)}`)),
      { numRuns: runs(80) },
    );
  });
});

describe("cdktf-ipvs with hostile arguments", () => {
  test("option values and file names", () => {
    const good = writeSpecText(JSON.stringify({ hosts: [{ name: "lb1" }] }));
    const arg = fc.oneof(
      hostileString(["lb1", "--spec", "plan"]),
      fc.constantFrom("--spec", "--out", "--host", "--ssh", "--plan", "--strict", "--identity", "--spec=", "--out=x", "--strict=1", "-h", "--help", "-V", "--version", "--", "-", "-x", "--no-host-key-check"),
      fc.tuple(fc.constantFrom("--spec=", "--host=", "--ssh=", "--"), hostileString(["lb1"])).map(([a, b]) => a + b),
    );
    // `render --out <relative path>` writes for real: keep it out of the working tree.
    const cwd = process.cwd();
    process.chdir(fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-cli-args-")));
    try {
      assertArgs(arg, good);
    } finally {
      process.chdir(cwd);
    }
  });
});

function assertArgs(arg: fc.Arbitrary<string>, good: string): void {
  fc.assert(
    fc.property(
      fc.constantFrom("plan", "render", "check", "check-plan", "drift", "help", "", "\u001b[2J", "plan\n"),
      fc.array(arg, { maxLength: 5 }),
      fc.boolean(),
      (command, rest, withSpec) => {
        const argv = [command, ...(withSpec ? ["--spec", good] : []), ...rest];
        const outcome = run(argv, fakeDeps({ code: 0, stdout: "", stderr: "" }));
        checkOutcome(`cdktf-ipvs ${show(argv)}`, outcome);
        const err = outcome.err.join("\n");
        // Arguments are never an internal error; a usage error is one line, then the usage.
        if (err.includes("internal error")) throw new Error(`cdktf-ipvs ${show(argv)}: ${show(err)}`);
        if (/^cdktf-ipvs: /.test(err) && (outcome.code !== 2 || !/^[^\n]*\nusage: cdktf-ipvs /.test(err))) throw new Error(`cdktf-ipvs ${show(argv)}: a usage error not as one line then the usage (exit ${outcome.code}): ${show(err)}`);
      },
    ),
    { numRuns: runs(150) },
  );
}

describe("cdktf-ipvs drift with hostile input", () => {
  test("drift: hostile --ssh, --host and a hostile answer from the host", () => {
    const spec = writeSpecText(JSON.stringify({ hosts: [{ name: "lb1" }] }));
    const answerLine = fc.oneof(
      fc.constantFrom(...HOSTILE_STRINGS).map((s) => `cdktf-ipvs lb1 [verify] DRIFT: ${s}`),
      fc.constantFrom(...HOSTILE_STRINGS),
      fc.constant("cdktf-ipvs lb1 [verify] OK: host matches the desired state"),
    );
    fc.assert(
      fc.property(
        fc.oneof(hostileString(["root@10.0.0.1:22", "10.0.0.1", "[fd00::1]:22"]), fc.constant("root@10.0.0.1")),
        fc.oneof(hostileString(["lb1"]), fc.constant("lb1")),
        fc.record({ code: fc.constantFrom(0, 1, 2, 255, -1), stdout: fc.array(answerLine, { maxLength: 4 }).map((l) => l.join("\n")), stderr: fc.constantFrom(...HOSTILE_STRINGS) }),
        (ssh, host, answer) => {
          const argv = ["drift", "--spec", spec, "--host", host, "--ssh", ssh];
          checkOutcome(`cdktf-ipvs ${show(argv)} answered ${show(answer)}`, run(argv, fakeDeps(answer)));
        },
      ),
      { numRuns: runs(120) },
    );
  });
});
