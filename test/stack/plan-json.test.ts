/**
 * A real `terraform show -json` plan of a tiny terraform_data stack (no provider download needed).
 * Fails, never skips, when terraform is missing: what it proves is only proved by Terraform itself.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildStackModel, loadStacks, PLAN_JSON_HOST } from "../../lib/stack";

function terraform(dir: string, args: string[]): string {
  const r = spawnSync("terraform", args, { cwd: dir, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" } });
  if (r.error) throw new Error(`terraform is not on PATH (${r.error.message}); this test runs a real terraform (install Terraform >= 1.4)`);
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const config = {
  variable: { lb_host: { default: "172.16.1.8" } },
  resource: {
    terraform_data: {
      ipvs: {
        input: { host: "${var.lb_host}" },
        connection: { host: "${self.input.host}", user: "root" },
        provisioner: [
          { "remote-exec": { inline: ["ipvsadm -A -t 172.16.1.8:1000 -s rr", "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000"] } },
          { "remote-exec": { inline: ["ipvsadm -C"], when: "destroy" } },
        ],
      },
      conntrack: {
        depends_on: ["terraform_data.ipvs"],
        connection: { host: "172.16.1.8", user: "root" },
        provisioner: [{ "remote-exec": { inline: ["sysctl -w net.ipv4.vs.conntrack=1"] } }],
      },
    },
  },
};

describe("a plan from terraform show -json (Terraform 1.11.4)", () => {
  let planFile: string;

  beforeAll(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-plan-"));
    fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(config));
    terraform(dir, ["init", "-input=false", "-no-color"]);
    terraform(dir, ["plan", "-input=false", "-no-color", "-out", "p"]);
    planFile = path.join(dir, "plan.json");
    fs.writeFileSync(planFile, terraform(dir, ["show", "-json", "p"]));
  });

  test("is read as a plan: provisioners in order with constant inline, when unknown, depends_on kept", () => {
    const [stack] = loadStacks(planFile);
    expect(stack.format).toBe("plan");
    const ipvs = stack.resources.find((r) => r.address === "terraform_data.ipvs")!;
    // The destroy-time provisioner is indistinguishable here: plan JSON drops `when`.
    expect(ipvs.provisioners.map((p) => [p.type, p.when, p.args.inline])).toEqual([
      ["remote-exec", "unknown", ["ipvsadm -A -t 172.16.1.8:1000 -s rr", "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000"]],
      ["remote-exec", "unknown", ["ipvsadm -C"]],
    ]);
    expect(stack.resources.find((r) => r.address === "terraform_data.conntrack")!.dependsOn).toEqual(["terraform_data.ipvs"]);
  });

  test("groups everything under the plan host, and orders by depends_on", () => {
    const model = buildStackModel(loadStacks(planFile)[0]);
    expect(model.hosts.map((h) => h.target.key)).toEqual([PLAN_JSON_HOST]);
    const [host] = model.hosts;
    expect(host.destroy).toEqual([]);
    expect(host.create.map((e) => [e.resource, e.event.kind, e.when])).toEqual([
      ["terraform_data.ipvs", "ipvs", "unknown"],
      ["terraform_data.ipvs", "nat", "unknown"],
      ["terraform_data.ipvs", "ipvs", "unknown"],
      ["terraform_data.conntrack", "sysctl-set", "unknown"],
    ]);
    expect(host.order(host.create[1], host.create[3])).toBe("before");
  });
});
