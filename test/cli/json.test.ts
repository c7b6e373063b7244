/**
 * Malformed JSON is reported as FILE:LINE:COLUMN: WHAT is not valid JSON: REASON, wherever the
 * CLI reads it (lib/cli/json.ts): spec, plan, stack (cdk.tf.json) and policy targets.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { runCli } from "../../lib/cli";
import { jsonSyntaxProblem, lineColumn, syntaxErrorOffset } from "../../lib/cli/json";

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-json-"));

function write(name: string, text: string): string {
  const file = path.join(tmpDir(), name);
  fs.writeFileSync(file, text);
  return file;
}

function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** A spec whose third line has a trailing comma, then `}` at column 18. */
const BROKEN = '{\n  "hosts": [\n    {"name": "x",}\n  ]\n}\n';

describe("malformed JSON is reported by line and column", () => {
  test.each([
    ["plan --spec", (f: string) => ["plan", "--spec", f], "spec"],
    ["render --spec", (f: string) => ["render", "--spec", f, "--out", tmpDir()], "spec"],
    ["check --spec", (f: string) => ["check", "--spec", f], "spec"],
    ["check-plan --plan", (f: string) => ["check-plan", "--plan", f], "plan"],
    ["drift --spec", (f: string) => ["drift", "--spec", f, "--ssh", "root@10.0.0.1"], "spec"],
    ["preview --spec", (f: string) => ["preview", "--spec", f, "--ssh", "root@10.0.0.1"], "spec"],
    ["preview --stack (a cdk.tf.json)", (f: string) => ["preview", "--stack", f, "--ssh", "root@10.0.0.1"], "stack"],
    ["policy TARGET (a file)", (f: string) => ["policy", f], "policy target"],
  ])("%s: exit 2 with FILE:3:18 and the reason, on one line", (_, argv, what) => {
    const file = write("cdk.tf.json", BROKEN);
    const r = run(argv(file));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${file}:3:18: ${what} is not valid JSON: expected double-quoted property name`);
  });

  test("policy on a stack folder and on cdktf.out: the broken file is named", () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "main.tf.json"), "{\n\n   ]");
    expect(run(["policy", dir]).err).toBe(`${path.join(dir, "main.tf.json")}:3:4: policy target is not valid JSON: expected property name or '}'`);
    // A good file next to the broken one: was an internal error (SyntaxError) before.
    fs.writeFileSync(path.join(dir, "a.tf.json"), '{"resource": {}}');
    expect(run(["policy", dir])).toEqual({ code: 2, out: "", err: `${path.join(dir, "main.tf.json")}:3:4: policy target is not valid JSON: expected property name or '}'` });
    const out = tmpDir();
    fs.mkdirSync(path.join(out, "stacks", "lb"), { recursive: true });
    fs.writeFileSync(path.join(out, "stacks", "lb", "cdk.tf.json"), '{"resource": {}');
    const r = run(["policy", out]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${path.join(out, "stacks", "lb", "cdk.tf.json")}:1:16: policy target is not valid JSON: expected ',' or '}' after property value`);
  });

  test("messages without a position (end of input, unexpected token) still get line and column", () => {
    expect(run(["plan", "--spec", write("a.json", '{"hosts": [\n')]).err).toMatch(/a\.json:2:1: spec is not valid JSON: unexpected end of input$/);
    expect(run(["plan", "--spec", write("b.json", '{"hosts":\r\n  tru}')]).err).toMatch(/b\.json:2:6: spec is not valid JSON: unexpected token '}'$/);
    expect(run(["plan", "--spec", write("c.json", "")]).err).toMatch(/c\.json:1:1: spec is not valid JSON: unexpected end of input$/);
  });

  test("the text V8 quotes from a long file is left out of the reason", () => {
    const r = run(["plan", "--spec", write("long.json", `{"hosts": [${" ".repeat(80)}x${" ".repeat(80)}]}`)]);
    expect(r.err).toMatch(/long\.json:1:92: spec is not valid JSON: unexpected token 'x'$/);
  });

  test("a byte order mark is named as such", () => {
    expect(run(["plan", "--spec", write("bom.json", '\ufeff{"hosts": []}')]).err).toMatch(/bom\.json:1:1: spec is not valid JSON: the file starts with a byte order mark \(U\+FEFF\)/);
  });

  test("control characters in the file are escaped in the reason", () => {
    const r = run(["plan", "--spec", write("esc.json", '{"hosts":\n \u001b[2J}')]);
    expect(r.err).toMatch(/esc\.json:2:2: spec is not valid JSON: unexpected token '\\u001b'$/);
  });
});

describe("lineColumn", () => {
  test("counts \\n, \\r\\n and \\r as one line break each, and characters (not UTF-16 units) as columns", () => {
    expect(lineColumn("abc", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("a\nb\r\nc\rd", 7)).toEqual({ line: 4, column: 1 });
    expect(lineColumn("a\r\nb", 2)).toEqual({ line: 1, column: 3 });
    expect(lineColumn("😀😀x", 4)).toEqual({ line: 1, column: 3 });
    expect(lineColumn("ab", 99)).toEqual({ line: 1, column: 3 });
  });
});

describe("syntaxErrorOffset agrees with JSON.parse", () => {
  test("valid JSON has no error; each broken text errs where V8 says", () => {
    expect(syntaxErrorOffset('{"a": [1, -2.5e+3, true, null, "\\u00e9\\n"], "b": {}}')).toBeUndefined();
    expect(syntaxErrorOffset("[1 2]")).toBe(3);
    expect(syntaxErrorOffset('{"a": "\\u12"}')).toBe(11);
    expect(syntaxErrorOffset('{"a": 1e}')).toBe(8);
    expect(syntaxErrorOffset("nul")).toBe(3);
    expect(syntaxErrorOffset("[".repeat(100000))).toBe(100000);
  });

  test("property: for mutated JSON, the scanner finds the offset JSON.parse reports (when it reports one)", () => {
    const chars = fc.constantFrom("{", "}", "[", "]", ",", ":", '"', "\\", "u", "e", "-", ".", "0", "7", "t", "n", " ", "\n", "\u0001", "x");
    const mutated = fc.tuple(fc.json({ maxDepth: 3 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), chars), { minLength: 1, maxLength: 3 })).map(([json, edits]) => {
      let text = json;
      for (const [at, op, c] of edits) {
        const i = text.length === 0 ? 0 : at % text.length;
        text = op === "insert" ? text.slice(0, i) + c + text.slice(i) : op === "delete" ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + c + text.slice(i + 1);
      }
      return text;
    });
    let compared = 0;
    fc.assert(
      fc.property(mutated, (text) => {
        let message: string | undefined;
        try {
          JSON.parse(text);
        } catch (e) {
          message = (e as Error).message;
        }
        if (message === undefined) return syntaxErrorOffset(text) === undefined;
        const given = /in JSON at position (\d+)/.exec(message);
        if (message === "Unexpected end of JSON input") return syntaxErrorOffset(text) === text.length;
        if (!given) return syntaxErrorOffset(text) !== undefined;
        compared++;
        return syntaxErrorOffset(text) === Number(given[1]) && jsonSyntaxProblem(text, new SyntaxError(message)).offset === Number(given[1]);
      }),
      { numRuns: 2000, seed: 20261126 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});
