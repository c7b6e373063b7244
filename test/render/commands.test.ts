import { spawnSync } from "child_process";
import { STEP_NAMES } from "../../lib/plan";
import { stepCommands, stepOfCommand } from "../../lib/render";

describe("stepCommands", () => {
  test.each(STEP_NAMES.map((s) => [s]))("%s: the run command is recognized again in a plan", (step) => {
    expect(stepOfCommand(stepCommands(step, "${self.id}").run)).toBe(step);
  });

  test("every command is valid sh", () => {
    for (const step of STEP_NAMES) {
      const c = stepCommands(step, "gen-1");
      for (const text of [c.prepare, c.run, c.undo].filter(Boolean)) expect(spawnSync("sh", ["-n", "-c", text as string]).status).toBe(0);
    }
  });

  test("verify has nothing to undo; the others undo their own step only", () => {
    expect(stepCommands("verify", "g").undo).toBeUndefined();
    expect(stepCommands("aliases", "g").undo).toContain("destroy.sh --generation g aliases;");
  });

  test("other commands are not mistaken for steps", () => {
    expect(stepOfCommand("sh /var/lib/cdktf-ipvs/apply.sh --generation x reboot")).toBeUndefined();
    expect(stepOfCommand("echo hi")).toBeUndefined();
  });
});
