/**
 * converge: "every-deploy": one more resource per host, replaced on every deploy, that runs the
 * whole apply and then verify, so a deploy with no change in the stack still heals drift. Proven
 * here with real Terraform (the plan replaces that one resource and nothing else); the healing
 * itself is proven on the real kernel in test/e2e/deploy.e2e.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack, Testing } from "cdktf";
import { IpvsHost, IpvsHostProps } from "../../lib/constructs";
import { IpvsModelError } from "../../lib/model";
import { convergeCommands, stepOfCommand } from "../../lib/render";
import { sha256 } from "../../lib/plan";
import { seedHost } from "../fixtures";
import { requireTerraform, tempDir, tfOk } from "./terraform";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function synth(props: Partial<IpvsHostProps> = {}): { json: Json; lb: IpvsHost } {
  const stack = new TerraformStack(Testing.app(), "s");
  const lb = IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/k" }, ...props });
  return { json: JSON.parse(Testing.synth(stack)), lb };
}

const byStep = (json: Json, step: string): [string, Json] => Object.entries(json.resource.terraform_data as Json).find(([, r]) => (r as Json).triggers_replace.step === step) as [string, Json];

describe("converge", () => {
  test('by default ("on-change") there is no converge resource', () => {
    expect(byStep(synth().json, "converge")).toBeUndefined();
  });

  test('"every-deploy" adds one resource that runs after verify, with a trigger only known at apply time', () => {
    const { json, lb } = synth({ converge: "every-deploy" });
    const [name, r] = byStep(json, "converge");
    expect(name).toMatch(/^lb1__converge_/);
    expect(r.triggers_replace.at).toBe("${timestamp()}");
    const [verifyName] = byStep(json, "verify");
    const [uploadName] = byStep(json, "upload");
    expect(r.depends_on).toEqual([`terraform_data.${verifyName}`, `terraform_data.${uploadName}`]);
    const command = r.provisioner[0]["remote-exec"].inline[0];
    expect(command).toBe(convergeCommands(sha256(lb.rendered.scripts["apply.sh"]), sha256(lb.rendered.scripts["verify.sh"])).run);
    expect(command).toContain("sh '/var/lib/cdktf-ipvs/apply.sh' && sh '/var/lib/cdktf-ipvs/verify.sh'");
    expect(stepOfCommand(command)).toBe("converge");
  });

  test("an unknown mode is refused at synth", () => {
    expect(() => synth({ converge: "always" as never })).toThrow(IpvsModelError);
    expect(() => synth({ converge: "always" as never })).toThrow(/converge "always" is not a converge mode; allowed: on-change, every-deploy/);
  });

  test("with real Terraform: a second plan with no change replaces the converge resource and nothing else", () => {
    requireTerraform();
    const dir = tempDir("cdktf-ipvs-converge-");
    const app = new App({ outdir: path.join(dir, "out") });
    const stack = new TerraformStack(app, "s");
    IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", converge: "every-deploy", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/k" } });
    app.synth();
    const config = JSON.parse(fs.readFileSync(path.join(dir, "out", "stacks", "s", "cdk.tf.json"), "utf8"));
    for (const r of Object.values(config.resource.terraform_data) as Json[]) delete r.provisioner; // contact no host
    const work = path.join(dir, "work");
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, "cdk.tf.json"), JSON.stringify(config));
    tfOk(work, ["init", "-input=false", "-no-color"]);
    tfOk(work, ["apply", "-input=false", "-auto-approve", "-no-color"]);
    tfOk(work, ["plan", "-input=false", "-no-color", "-out", "p"]);
    const plan = JSON.parse(tfOk(work, ["show", "-json", "-no-color", "p"]));
    const changing = (plan.resource_changes as Json[]).filter((rc) => rc.change.actions.join(",") !== "no-op").map((rc) => rc.name);
    expect(changing).toHaveLength(1);
    expect(changing[0]).toMatch(/^lb1__converge_/);
  });
});
