import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildDesiredHost } from "../../lib/model";
import { STEP_NAMES, planHost, sha256 } from "../../lib/plan";
import { BUNDLE_PATH, SCRIPT_NAMES, readBundle, readStepCommand, renderHost, stepCommands, stepOfCommand, undoCommand, uploadCommands } from "../../lib/render";
import { seedHost } from "../fixtures";

const H = (c: string) => c.repeat(64);

describe("stepCommands", () => {
  test.each(STEP_NAMES.map((s) => [s]))("%s: the run command is recognized again in a plan, with the hash it checks", (step) => {
    const recognized = readStepCommand(stepCommands(step, "${self.id}", H("a")).run);
    expect(recognized).toEqual({ step, checks: { [step === "verify" ? "verify.sh" : "apply.sh"]: H("a") } });
    expect(stepOfCommand(stepCommands(step, "${self.id}", H("a")).run)).toBe(step);
  });

  test("the upload step's run command is recognized with the three hashes", () => {
    const hashes = { "apply.sh": H("a"), "verify.sh": H("b"), "destroy.sh": H("c") };
    expect(readStepCommand(uploadCommands(hashes).run)).toEqual({ step: "upload", checks: hashes });
  });

  test("commands of the previous release are still recognized", () => {
    expect(stepOfCommand("sh /var/lib/cdktf-ipvs/apply.sh --generation ${self.id} aliases")).toBe("aliases");
    expect(stepOfCommand("sh /var/lib/cdktf-ipvs/verify.sh")).toBe("verify");
  });

  test("every command is valid sh, with values quoted", () => {
    const upload = uploadCommands({ "apply.sh": H("a"), "verify.sh": H("b"), "destroy.sh": H("c") });
    for (const text of [upload.prepare, upload.run]) expect(spawnSync("sh", ["-n", "-c", text]).status).toBe(0);
    for (const step of STEP_NAMES) {
      const c = stepCommands(step, "gen-1", H("d"));
      for (const text of [c.run, c.undo].filter(Boolean)) expect(spawnSync("sh", ["-n", "-c", text as string]).status).toBe(0);
    }
    expect(stepCommands("ipvs", "it's", H("d")).run).toContain("--generation 'it'\\''s' ipvs");
    expect(stepOfCommand(stepCommands("ipvs", "it's", H("d")).run)).toBe("ipvs");
  });

  test("verify has nothing to undo; the others undo their own step only", () => {
    expect(stepCommands("verify", "g", H("a")).undo).toBeUndefined();
    expect(stepCommands("aliases", "g", H("a")).undo).toBe(undoCommand("aliases", "g"));
    expect(undoCommand("aliases", "g")).toContain("destroy.sh' --generation 'g' aliases;");
  });

  test("other commands are not mistaken for steps", () => {
    expect(stepOfCommand("sh /var/lib/cdktf-ipvs/apply.sh --generation x reboot")).toBeUndefined();
    expect(stepOfCommand("echo hi")).toBeUndefined();
    const run = stepCommands("ipvs", "g", H("a")).run;
    expect(stepOfCommand(run.replace("ipvs", "reboot"))).toBeUndefined();
    expect(stepOfCommand(`${run}; reboot`)).toBeUndefined();
    expect(stepOfCommand(run.replace("exit 1", "true"))).toBeUndefined();
  });

  test("hashes must be sha256 digests", () => {
    expect(() => stepCommands("ipvs", "g", "abc")).toThrow(/not a sha256/);
  });
});

/** A fake host: the state directory is a temp folder, reached through the same commands with the path rewritten. */
function onFakeHost(dir: string, command: string): { status: number | null; out: string } {
  const local = command.split("/var/lib/cdktf-ipvs").join(dir);
  const r = spawnSync("sh", ["-c", local], { encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("the upload, run on a real sh with base64, tar and sha256sum", () => {
  const rendered = renderHost(planHost(buildDesiredHost(seedHost())));
  const hashes = Object.fromEntries(SCRIPT_NAMES.map((n) => [n, sha256(rendered.scripts[n])])) as Record<(typeof SCRIPT_NAMES)[number], string>;

  test("the bundle holds the three scripts byte for byte and is the same every time", () => {
    expect(readBundle(rendered.bundle)).toEqual({ ...rendered.scripts });
    expect(renderHost(planHost(buildDesiredHost(seedHost()))).bundle).toBe(rendered.bundle);
    // One compressed copy: far smaller than the scripts.
    const plain = SCRIPT_NAMES.reduce((n, s) => n + rendered.scripts[s].length, 0);
    expect(rendered.bundle.length).toBeLessThan(plain / 2);
  });

  test("unpacks into place and checks every hash; a step then runs only the script this plan uploaded", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-upload-"));
    const state = path.join(dir, "state");
    const upload = uploadCommands(hashes);
    expect(onFakeHost(state, upload.prepare).status).toBe(0);
    fs.writeFileSync(BUNDLE_PATH.replace("/var/lib/cdktf-ipvs", state), rendered.bundle);
    const r = onFakeHost(state, upload.run);
    expect(r).toEqual({ status: 0, out: "" });
    for (const n of SCRIPT_NAMES) expect(fs.readFileSync(path.join(state, n), "utf8")).toBe(rendered.scripts[n]);
    expect(fs.readdirSync(state).sort()).toEqual([...SCRIPT_NAMES].sort());

    // The guard in front of a step: the right script passes on to `sh`, another one stops it.
    const guardOnly = (cmd: string) => cmd.slice(0, cmd.indexOf("; sh ")) + "; echo guard passed";
    expect(onFakeHost(state, guardOnly(stepCommands("ipvs", "g", hashes["apply.sh"]).run))).toEqual({ status: 0, out: "guard passed\n" });
    const stale = onFakeHost(state, guardOnly(stepCommands("ipvs", "g", H("0")).run));
    expect(stale.status).toBe(1);
    expect(stale.out).toContain("apply.sh on the host is not the one this plan uploaded");
    expect(stale.out).not.toContain("guard passed");
  });

  test("a damaged upload fails the upload step", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-upload-"));
    const upload = uploadCommands({ ...hashes, "verify.sh": H("0") });
    onFakeHost(dir, upload.prepare);
    fs.writeFileSync(BUNDLE_PATH.replace("/var/lib/cdktf-ipvs", dir), rendered.bundle);
    const r = onFakeHost(dir, upload.run);
    expect(r.status).toBe(1);
    expect(r.out).toContain("cdktf-ipvs: the uploaded scripts did not arrive intact");
  });
});
