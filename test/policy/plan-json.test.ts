import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, TerraformResource, TerraformStack } from "cdktf";
import { IpvsHost } from "../../lib/constructs";
import { checkTerraformPlan } from "../../lib/policy";

/** Synthesizes a terraform_data stack, runs real `terraform plan` and returns `terraform show -json`. */
function planJson(tamper?: (lb: IpvsHost) => void): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-plan-"));
  const app = new App({ outdir: dir });
  const stack = new TerraformStack(app, "s");
  const lb = new IpvsHost(stack, "lb1", { engine: "terraform_data", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/k" } });
  const svc = lb.addVirtualService("app", { address: "172.16.1.8", port: 1000, scheduler: "rr" });
  svc.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
  svc.addAlias({ port: 1010 });
  tamper?.(lb);
  app.synth();
  const cwd = path.join(dir, "stacks", "s");
  const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
  execFileSync("terraform", ["init", "-input=false"], { cwd, env, stdio: "pipe" });
  execFileSync("terraform", ["plan", "-input=false", "-out=plan.bin"], { cwd, env, stdio: "pipe" });
  const text = execFileSync("terraform", ["show", "-json", "plan.bin"], { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (process.env.DEBUG_PLAN) fs.writeFileSync(process.env.DEBUG_PLAN, text);
  return JSON.parse(text);
}

describe("checkTerraformPlan (terraform show -json)", () => {
  test("finds the host in the plan and runs the host rules on what will be applied", () => {
    const findings = checkTerraformPlan(planJson());
    expect(findings.filter((f) => f.level === "error")).toEqual([]);
    expect(findings.map((f) => f.ruleId)).toContain("IPVS002");
    expect(findings[0].path).toBe("s/lb1");
  });

  test("IPVS005: an override that makes aliases stop depending on sysctls is an error", () => {
    const findings = checkTerraformPlan(
      planJson((lb) => {
        // Skip the sysctls step: ipvs (and so aliases) now hangs directly off modules.
        const modules = lb.steps.modules as TerraformResource;
        lb.steps.ipvs.dependsOn = [`terraform_data.${modules.friendlyUniqueId}`];
        lb.steps.ipvs.addOverride("triggers_replace.upstream", modules.getStringAttribute("id"));
      }),
    );
    expect(findings[0]).toMatchObject({ ruleId: "IPVS005", level: "error", path: "s/lb1" });
  });

  test("IPVS006: a step whose script was overridden carries another desired state", () => {
    const findings = checkTerraformPlan(
      planJson((lb) => {
        const other = "#!/bin/sh\n# cdktf-ipvs-desired-state: " + JSON.stringify({ ...lb.desiredState, sysctls: [] }) + "\n";
        lb.steps.aliases.addOverride("provisioner.1.file.content", other);
      }),
    );
    expect(findings.map((f) => f.ruleId)).toContain("IPVS006");
  });

  test("a plan without cdktf-ipvs resources yields nothing", () => {
    expect(checkTerraformPlan({ configuration: { root_module: { resources: [] } } })).toEqual([]);
  });
});
