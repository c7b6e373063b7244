/**
 * The pairing enforced on a stack written by hand, the way the seed's author would: a
 * terraform_data resource whose remote-exec runs exactly the seed's commands. The policy check
 * flags it before anything is deployed (IPVS101); deployed anyway with a real `terraform apply`,
 * the alias fails in the guest exactly as the seed says. The fixed stack (conntrack=1 first,
 * persisted) passes the policy and its alias works.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { LabGuest, REPO_ROOT, TOPOLOGY } from "./lab";
import { connectN, isRoundRobin } from "./traffic";

const VIP = TOPOLOGY.lbIPv4;

/** The seed's commands, word for word. */
const SEED = [
  `ipvsadm -A -t ${VIP}:1000 -s rr`,
  `ipvsadm -a -t ${VIP}:1000 -r ${VIP}:1001 -m`,
  `ipvsadm -a -t ${VIP}:1000 -r ${VIP}:1002 -m`,
  "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
];

/** What a careful author adds in front: the module, the sysctl now, and both persisted for boot. */
const FIX = [
  "modprobe ip_vs",
  "printf 'ip_vs\\n' > /etc/modules-load.d/lb.conf",
  "printf 'net.ipv4.vs.conntrack = 1\\n' > /etc/sysctl.d/90-lb.conf",
  "sysctl -p /etc/sysctl.d/90-lb.conf",
];

let guest: LabGuest;

beforeAll(async () => {
  guest = await LabGuest.boot("hand-written-stack");
  guest.sshOk(["modprobe ip_vs", "ipvsadm -C", "iptables -t nat -F", "sysctl -w net.ipv4.vs.conntrack=0"].join("\n"));
}, 30 * 60 * 1000);

afterAll(() => {
  guest?.stop();
});

/** A hand-written Terraform JSON stack in its own folder: one terraform_data, remote-exec over SSH into the guest. */
function writeStack(name: string, inline: string[]): string {
  const dir = path.join(REPO_ROOT, ".lab", "e2e", "hand-written", name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const stack = {
    resource: {
      terraform_data: {
        lb: {
          triggers_replace: { host: "127.0.0.1" },
          connection: { type: "ssh", host: "${self.triggers_replace.host}", port: guest.sshPort, user: "root", private_key: `\${file("${guest.privateKeyPath}")}`, timeout: "2m" },
          provisioner: [{ "remote-exec": { inline } }],
        },
      },
    },
  };
  fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(stack, null, 2));
  return dir;
}

/**
 * `cdktf-ipvs policy DIR --json`, as CI would run it: exit code and the findings that are errors
 * or warnings (the lab's throw-away guest key is not pinned, which IPVS108 reports as info).
 */
function policy(dir: string): { code: number; findings: { ruleId: string; level: string }[] } {
  let out = "";
  const code = runCli(["policy", path.join(dir, "main.tf.json"), "--json"], { out: (t) => (out += `${t}\n`), err: () => undefined });
  return { code, findings: (JSON.parse(out).findings as { ruleId: string; level: string }[]).filter((f) => f.level !== "info") };
}

function terraform(dir: string, args: string[]): void {
  const r = spawnSync("terraform", args, { cwd: dir, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" }, timeout: 10 * 60 * 1000 });
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`.slice(-6000));
}

function apply(dir: string): void {
  terraform(dir, ["init", "-input=false", "-no-color"]);
  terraform(dir, ["apply", "-auto-approve", "-input=false", "-no-color"]);
}

describe("a hand-written stack with the seed's commands", () => {
  test("is flagged by the policy before the deploy (IPVS101, exit 1)", () => {
    const result = policy(writeStack("seed", SEED));
    expect(result.code).toBe(1);
    expect(result.findings).toEqual([expect.objectContaining({ ruleId: "IPVS101", level: "error" })]);
  });

  test("deployed anyway, the service works and the alias fails, as the seed says", () => {
    apply(writeStack("seed", SEED));
    expect(guest.sshOk("sysctl -n net.ipv4.vs.conntrack").trim()).toBe("0");
    expect(isRoundRobin(connectN(guest, VIP, 1000, 4))).toBe(true);
    expect(connectN(guest, VIP, 1010, 2)).toEqual(["FAIL", "FAIL"]);
  });

  test("the fixed stack passes the policy, warnings included, and its alias works", () => {
    guest.sshOk(["ipvsadm -C", "iptables -t nat -F", "conntrack -F 2>/dev/null || true"].join("\n"));
    const dir = writeStack("fixed", [...FIX, ...SEED]);
    const result = policy(dir);
    expect(result).toEqual({ code: 0, findings: [] });
    apply(dir);
    expect(guest.sshOk("sysctl -n net.ipv4.vs.conntrack").trim()).toBe("1");
    const results = connectN(guest, VIP, 1010, 4);
    expect({ results, roundRobin: isRoundRobin(results) }).toEqual({ results, roundRobin: true });
  });
});
