/**
 * CDK Terrain (cdktn) end to end: the packed library installed from its tarball into a fresh app
 * outside the repository with cdktn and constructs from the registry (test/consumer/run.sh), the
 * seed synthesized there with node (app.synth()), and the synthesized stack deployed into a real
 * IPVS host with `terraform apply` (terraform_data engine), then destroyed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabGuest, REPO_ROOT, TOPOLOGY } from "./lab";
import { connectN, isRoundRobin } from "./traffic";

const VIP = TOPOLOGY.lbIPv4;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, CHECKPOINT_DISABLE: "1", ...env }, encoding: "utf8", maxBuffer: 64 << 20, timeout: 15 * 60 * 1000 });
  const out = `${r.stdout ?? ""}\n${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}) in ${cwd}:\n${out.slice(-6000)}`);
  return out;
}

describe("a cdktn app deploys the seed with terraform apply", () => {
  let guest: LabGuest;
  let work: string;
  let app: string;
  let stackDir: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-cdktn-e2e-"));
    run("bash", [path.join(REPO_ROOT, "test", "consumer", "run.sh")], REPO_ROOT, { CONSUMER_ROWS: "cdktn", CONSUMER_KEEP: work });
    const dirs = fs.readdirSync(work).filter((d) => d.startsWith("cdktn-"));
    expect(dirs).toHaveLength(1);
    app = path.join(work, dirs[0]);
    fs.copyFileSync(path.join(REPO_ROOT, "test", "consumer", "deploy-app.js"), path.join(app, "deploy.js"));
    guest = await LabGuest.boot("cdktn");
  }, 30 * 60 * 1000);

  afterAll(() => {
    guest?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test("the app has cdktn and no cdktf; node synthesizes the stack", () => {
    expect(fs.existsSync(path.join(app, "node_modules", "cdktn", "package.json"))).toBe(true);
    expect(fs.existsSync(path.join(app, "node_modules", "cdktf"))).toBe(false);
    run("node", ["deploy.js"], app, { CONSUMER_CDK: "cdktn", IPVS_E2E_PORT: String(guest.sshPort), IPVS_E2E_KEY: guest.privateKeyPath });
    stackDir = path.join(app, "cdktf.out", "stacks", "lab");
    const json = JSON.parse(fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8"));
    expect(Object.keys(json.resource)).toEqual(["terraform_data"]);
    expect(Object.keys(json.resource.terraform_data)).toHaveLength(7);
  });

  test("terraform apply: the aliases work and round-robin, conntrack is 1, verify passes; destroy removes it all", () => {
    // Fresh guest: ip_vs not loaded yet (no such sysctl), or loaded with conntrack off.
    expect(["absent", "0"]).toContain(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack 2>/dev/null || echo absent").trim());
    run("terraform", ["init", "-input=false", "-no-color"], stackDir);
    const applied = run("terraform", ["apply", "-auto-approve", "-input=false", "-no-color"], stackDir);
    expect(applied).toMatch(/Apply complete! Resources: 7 added, 0 changed, 0 destroyed/);

    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("1");
    const r1010 = connectN(guest, VIP, 1010, 4);
    const r1020 = connectN(guest, VIP, 1020, 4);
    expect({ r1010, ok: isRoundRobin(r1010) }).toEqual({ r1010, ok: true });
    expect({ r1020, ok: isRoundRobin(r1020) }).toEqual({ r1020, ok: true });
    const v = guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh");
    expect(v.stdout + v.stderr).toContain("OK: host matches the desired state");
    expect(v.code).toBe(0);

    const again = run("terraform", ["apply", "-auto-approve", "-input=false", "-no-color"], stackDir);
    expect(again).toMatch(/No changes|0 added, 0 changed, 0 destroyed/);

    run("terraform", ["destroy", "-auto-approve", "-input=false", "-no-color"], stackDir);
    expect(guest.sshOk("ipvsadm -Sn").includes("172.16.1.8:1000")).toBe(false);
    expect(guest.ssh("test -e /var/lib/cdktf-ipvs").code).toBe(1);
    expect(guest.sshOk("iptables -t nat -S").includes("CDKTF-IPVS")).toBe(false);
  });
});
