/**
 * What a reviewer sees: real `terraform plan` output for a one-weight change, after a real
 * `terraform apply` of the previous version (terraform_data engine; provisioners stripped, so
 * nothing connects anywhere). The plan must name the changed ipvsadm line, old and new, and
 * replace only the steps that must re-run.
 */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { IpvsHost } from "../../lib/constructs";
import { SeedStack } from "../../main";
import { requireTerraform, tempDir, tfOk } from "./terraform";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The same configuration with every provisioner removed, so applying it contacts no host. */
function withoutProvisioners(config: Json): Json {
  const copy = JSON.parse(JSON.stringify(config));
  for (const type of Object.values(copy.resource ?? {}) as Json[]) {
    for (const r of Object.values(type) as Json[]) delete r.provisioner;
  }
  delete copy.terraform?.backend; // state in the work dir
  return copy;
}

interface PlannedChange {
  /** `terraform plan -no-color` output. */
  readonly text: string;
  /** Step name → Terraform's actions for it. */
  readonly actions: Record<string, string>;
  readonly v1Size: number;
}

/** Synthesizes v1 and v2 with BUILD (returning the stack id), applies v1 (no provisioners), plans v2. */
function planChange(name: string, build: (app: App, version: 1 | 2) => string): PlannedChange {
  const dir = tempDir(`cdktf-ipvs-review-${name}-`);
  const synth = (version: 1 | 2): { text: string; json: Json } => {
    const app = new App({ outdir: path.join(dir, `v${version}`) });
    const stackId = build(app, version);
    app.synth();
    const text = fs.readFileSync(path.join(dir, `v${version}`, "stacks", stackId, "cdk.tf.json"), "utf8");
    return { text, json: JSON.parse(text) };
  };
  const v1 = synth(1);
  const v2 = synth(2);
  const work = path.join(dir, "work");
  fs.mkdirSync(work);
  const write = (config: Json) => fs.writeFileSync(path.join(work, "cdk.tf.json"), JSON.stringify(config));
  write(withoutProvisioners(v1.json));
  tfOk(work, ["init", "-input=false", "-no-color"]);
  tfOk(work, ["apply", "-input=false", "-auto-approve", "-no-color"]);
  write(withoutProvisioners(v2.json));
  const text = tfOk(work, ["plan", "-input=false", "-no-color", "-out", "p"]);
  const plan = JSON.parse(tfOk(work, ["show", "-json", "-no-color", "p"]));
  const actions = Object.fromEntries(
    (plan.resource_changes as Json[]).map((rc) => [(v2.json.resource.terraform_data[rc.name] as Json).triggers_replace.step, rc.change.actions.join(",")]),
  );
  if (process.env.CDKTF_IPVS_PLAN_EXCERPT) fs.writeFileSync(`${process.env.CDKTF_IPVS_PLAN_EXCERPT}.${name}.txt`, text);
  return { text, actions, v1Size: v1.text.length };
}

/**
 * Lines Terraform marks as removed or added inside values: not resource headers, and not
 * terraform_data's `output` (a copy of its input, the key's path, shown as known after apply).
 */
function changedLines(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => /^\s+[-+] /.test(l) && !/^\s*[-+]\/[-+] resource/.test(l) && !/^\s+- private_key_path = /.test(l))
    .map((l) => l.trim());
}

const REPLACED = { upload: "create,delete", modules: "no-op", sysctls: "no-op", ipvs: "create,delete", aliases: "create,delete", boot: "create,delete", verify: "create,delete" };

describe("the plan of a one-weight change reads like the change (real terraform apply, then plan)", () => {
  test("seed stack: the changed ipvsadm line, old and new, and nothing else to decode; only the steps that must re-run are replaced", () => {
    requireTerraform();
    const env = { IPVS_ENGINE: "terraform_data", IPVS_SSH_HOST: "127.0.0.1", IPVS_SSH_PORT: "2222", IPVS_SSH_KEY_PATH: "/keys/id" };
    const change = planChange("seed", (app, v) => {
      new SeedStack(app, "seed", env, { weights: v === 1 ? [1, 1] : [1, 3] });
      return "seed";
    });
    expect(change.actions).toEqual(REPLACED);
    // Terraform's own multi-line diff of the ipvs step's entry for the service: the one line, old and new.
    expect(change.text).toContain(
      [
        '          ~ "-t 172.16.1.8:1000" = <<-EOT',
        "                -A -t 172.16.1.8:1000 -s rr",
        "                -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1",
        "              - -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1",
        "              + -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3",
        "            EOT",
      ].join("\n"),
    );
    expect(changedLines(change.text)).toEqual(["- -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1", "+ -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3"]);
    // No opaque step hashes; what else changes is named: the re-uploaded scripts, the upstream
    // ids (known after apply), and the outputs (the summary line of the service).
    expect(change.text).not.toContain("step_hash");
    expect(change.text).toMatch(/~ "\/var\/lib\/cdktf-ipvs\/apply\.sh" += "sha256 [0-9a-f]{64}" -> "sha256 [0-9a-f]{64}"/);
    expect(change.text).toContain('~ "       - service tcp 172.16.1.8:1000 (app) rr → 172.16.1.8:1001 masquerade w1, 172.16.1.8:1002 masquerade w1" -> "       - service tcp 172.16.1.8:1000 (app) rr → 172.16.1.8:1001 masquerade w1, 172.16.1.8:1002 masquerade w3"');
    expect(change.text).toMatch(/Plan: 5 to add, 0 to change, 5 to destroy\./);
    // The modules and sysctls steps are not in the plan at all.
    expect(change.text).not.toMatch(/# terraform_data\.seed-?\w*modules\w* must be replaced|lb1_modules_\w+ must be replaced|lb1_sysctls_\w+ must be replaced/);
    // One copy of the scripts (one per step would be six): the seed's configuration stays small.
    // The scripts are most of it and do not grow with services: drain, rollback, the owner and
    // kernel preflights (lib/render/host/*.sh, comments kept for whoever reads them on a host).
    expect(change.v1Size).toBeLessThanOrEqual(80 * 1024);
  });

  test("1000 services × 4 real servers + 1000 aliases: the plan of a one-weight change stays short", () => {
    requireTerraform();
    const change = planChange("scale", (app, v) => {
      const stack = new TerraformStack(app, "scale");
      const virtualServices = Array.from({ length: 1000 }, (_, i) => ({
        name: `svc${i}`,
        address: "172.16.1.8",
        port: 10000 + i,
        scheduler: "rr" as const,
        realServers: Array.from({ length: 4 }, (__, r) => ({ address: "172.16.1.8", port: 1001 + r, forwarding: "masquerade" as const, weight: i === 500 && r === 1 && v === 2 ? 5 : 1 })),
        aliases: [{ port: 30000 + i, method: "dnat" as const }],
      }));
      IpvsHost.fromSpec(stack, "lb1", { name: "lb1", virtualServices }, { engine: "terraform_data", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/keys/id" } });
      return "scale";
    });
    expect(change.actions).toEqual(REPLACED);
    expect(changedLines(change.text)).toEqual(["- -a -t 172.16.1.8:10500 -r 172.16.1.8:1002 -m -w 1", "+ -a -t 172.16.1.8:10500 -r 172.16.1.8:1002 -m -w 5"]);
    // The other 999 services, and the step's own keys (host, port, user, step, format, upstream).
    expect(change.text).toContain("# (1005 unchanged attributes hidden)");
    expect(change.text.split("\n").length).toBeLessThan(150);
    expect(change.v1Size).toBeLessThanOrEqual(3 * 1024 * 1024);
  }, 240_000);
});
