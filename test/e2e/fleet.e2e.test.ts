/**
 * The fleet example (examples/fleet) deployed for real: one stack, three hosts from a data file,
 * state in Terraform's pg backend on a real PostgreSQL (test/e2e/pg.ts), `terraform` run directly
 * on the synthesized stack (terraform_data engine: nothing to download).
 *
 *   - lb-a and lb-b are two lab guests (real IPVS kernels, booted in parallel); lb-down is a
 *     closed privileged port on 127.0.0.1 (connection refused, 10 s connection timeout).
 *   - The first apply exits non-zero because of lb-down, but lb-a and lb-b converge (verify.sh OK
 *     on each, their services answer): a failed host does not stop the others.
 *   - While it runs, a second `terraform apply -lock-timeout=0s` on the same state is refused by
 *     the pg backend's lock; afterwards the state in PostgreSQL holds every resource of lb-a and
 *     lb-b, none tainted.
 *   - The data fixed (lb-down, a host that does not exist, taken out), the next apply converges
 *     without touching lb-a and lb-b; destroy then removes everything from both guests (and an
 *     apply started while it runs is refused too, now that the state exists in the database).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { FleetFile, FleetHost } from "../../examples/fleet/fleet";
import { Scheduler } from "../../lib/model";
import { synthFleet } from "../../examples/fleet/main";
import { LAB_KEY, LabGuest, REPO_ROOT, TOPOLOGY } from "./lab";
import * as net from "net";
import { ThrowawayPostgres } from "./pg";
import { connectN, isRoundRobin } from "./traffic";

const VIP = TOPOLOGY.lbIPv4;
const WORK = path.join(REPO_ROOT, ".lab", "e2e", "fleet");
const STACK_DIR = path.join(WORK, "out", "stacks", "fleet");
const STEPS = ["_upload", "modules", "sysctls", "ipvs", "aliases", "boot", "verify"];
const TF_ENV = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };

interface Run {
  code: number | null;
  out: string;
}

/** terraform ARGS in the stack's folder, asynchronously (jest keeps running; output collected). */
class Terraform {
  readonly child: ChildProcess;
  out = "";
  readonly done: Promise<Run>;
  constructor(
    readonly label: string,
    args: string[],
  ) {
    this.child = spawn("terraform", [...args, "-no-color"], { cwd: STACK_DIR, env: TF_ENV, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d) => (this.out += d));
    this.child.stderr!.on("data", (d) => (this.out += d));
    const timer = setTimeout(() => this.child.kill("SIGTERM"), 20 * 60 * 1000);
    this.done = new Promise((resolve) =>
      this.child.on("close", (code) => {
        clearTimeout(timer);
        fs.writeFileSync(path.join(WORK, `${label}.log`), this.out);
        resolve({ code, out: this.out });
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the output matches RE (rejects if terraform exits first). */
  async waitFor(re: RegExp, timeoutMs = 10 * 60 * 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.out)) {
      if (!this.running) throw new Error(`${this.label} exited before printing ${re}:\n${this.out.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${this.label}: no ${re} within ${timeoutMs / 1000}s:\n${this.out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const terraform = (label: string, ...args: string[]) => new Terraform(label, args).done;

/**
 * A privileged port on 127.0.0.1 that refuses connections. Below 1024, so neither a lab guest's
 * forwarded SSH port (20000-39999) nor an ephemeral port can turn up there while the test runs:
 * the lab key opens every guest, and "lb-down" must never reach one.
 */
async function refusedLoopbackPort(): Promise<number> {
  for (let port = 1; port < 1024; port++) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.setTimeout(2000, () => (s.destroy(), resolve(false)));
      s.once("connect", () => (s.destroy(), resolve(false)));
      s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
    });
    if (refused) return port;
  }
  throw new Error("no closed port below 1024 on 127.0.0.1");
}

function mustSucceed(label: string, r: Run): string {
  if (r.code !== 0) throw new Error(`${label} failed (exit ${r.code}):\n${r.out.slice(-6000)}`);
  return r.out;
}

/** Addresses in the state (through the configured backend, i.e. PostgreSQL). */
async function stateList(): Promise<string[]> {
  const out = mustSucceed("terraform state list", await terraform("state-list", "state", "list"));
  return out.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("terraform_data."));
}

/** Construct path (fleet/HOST/STEP) → { address, id, tainted } of each resource in the state. */
async function stateResources(): Promise<Record<string, { address: string; id: string; tainted: boolean }>> {
  const r = await terraform("show-json", "show", "-json");
  const json = JSON.parse(mustSucceed("terraform show -json", r).trim().split("\n").pop()!);
  const out: Record<string, { address: string; id: string; tainted: boolean }> = {};
  const cdk = JSON.parse(fs.readFileSync(path.join(STACK_DIR, "cdk.tf.json"), "utf8"));
  const pathOf: Record<string, string> = {};
  for (const [name, res] of Object.entries(cdk.resource.terraform_data as Record<string, { "//": { metadata: { path: string } } }>)) {
    pathOf[`terraform_data.${name}`] = res["//"].metadata.path;
  }
  for (const res of json.values?.root_module?.resources ?? []) {
    out[pathOf[res.address] ?? res.address] = { address: res.address, id: res.values?.id, tainted: res.tainted === true };
  }
  return out;
}

function service(port: number, scheduler: Scheduler, alias: { port: number; method: "redirect" | "dnat" }): FleetHost["virtualServices"] {
  return [
    {
      name: "app",
      protocol: "tcp",
      address: VIP,
      port,
      scheduler,
      realServers: [
        { address: VIP, port: 1001, forwarding: "masquerade" },
        { address: VIP, port: 1002, forwarding: "masquerade" },
      ],
      aliases: [alias],
    },
  ];
}

describe("a fleet from a data file, state in PostgreSQL (pg backend), deployed into real IPVS hosts", () => {
  let guests: { a: LabGuest; b: LabGuest };
  let pg: ThrowawayPostgres;
  let closedPort: number;
  let fleet: FleetFile;

  const synth = (f: FleetFile) => {
    fs.writeFileSync(path.join(WORK, "fleet.json"), JSON.stringify(f, null, 2));
    const stack = synthFleet({ FLEET_FILE: path.join(WORK, "fleet.json"), FLEET_PG_CONN_STR: pg.connStr }, path.join(WORK, "out"));
    return stack.hosts.map((h) => h.node.id);
  };

  beforeAll(async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    fs.mkdirSync(WORK, { recursive: true });
    // Two guests at once (the slow part), and the database meanwhile.
    const [a, b, db] = await Promise.allSettled([LabGuest.boot("fleet-a"), LabGuest.boot("fleet-b"), ThrowawayPostgres.start("ipvs_fleet")]);
    if (a.status === "fulfilled" && b.status === "fulfilled" && db.status === "fulfilled") {
      guests = { a: a.value, b: b.value };
      pg = db.value;
    } else {
      if (a.status === "fulfilled") a.value.stop();
      if (b.status === "fulfilled") b.value.stop();
      if (db.status === "fulfilled") db.value.stop();
      throw new Error([a, b, db].map((r) => (r.status === "rejected" ? String((r.reason as Error)?.message ?? r.reason) : "")).join("\n"));
    }
    closedPort = await refusedLoopbackPort();
    fleet = {
      engine: "terraform_data",
      defaults: { connection: { host: "127.0.0.1", user: "root", privateKeyPath: LAB_KEY, timeout: "3m" } },
      hosts: [
        { name: "lb-a", connection: { port: guests.a.sshPort }, virtualServices: service(1000, "rr", { port: 1010, method: "redirect" }) },
        { name: "lb-b", connection: { port: guests.b.sshPort }, virtualServices: service(1100, "wrr", { port: 1120, method: "dnat" }) },
        // Nothing listens here: connection refused, retried for 10 s, then this host's chain fails.
        { name: "lb-down", connection: { port: closedPort, timeout: "10s" }, virtualServices: service(1200, "rr", { port: 1210, method: "dnat" }) },
      ],
    };
  }, 30 * 60 * 1000);

  afterAll(() => {
    guests?.a.stop();
    guests?.b.stop();
    pg?.stop();
  });

  test("one apply: the unreachable host fails alone, the others converge; a concurrent apply is refused by the lock", async () => {
    expect(synth(fleet)).toEqual(["lb-a", "lb-b", "lb-down"]);
    const cdk = JSON.parse(fs.readFileSync(path.join(STACK_DIR, "cdk.tf.json"), "utf8"));
    expect(cdk.terraform.backend).toEqual({ pg: { conn_str: pg.connStr } });
    mustSucceed("terraform init", await terraform("init", "init", "-input=false"));
    // The backend is PostgreSQL: no local state file, and the pg backend made its table.
    expect(JSON.parse(fs.readFileSync(path.join(STACK_DIR, ".terraform", "terraform.tfstate"), "utf8")).backend.type).toBe("pg");
    expect(pg.psql("SELECT to_regclass('terraform_remote_state.states') IS NOT NULL")).toBe("t");

    const first = new Terraform("apply-1", ["apply", "-auto-approve", "-input=false", "-parallelism=10"]);
    // Once resources are being created, the first apply holds the state lock.
    await first.waitFor(/Creating\.\.\./);
    const second = await terraform("apply-2", "apply", "-auto-approve", "-input=false", "-lock-timeout=0s");
    const firstStillRunning = first.running;
    const r = await first.done; // (before any assertion: never leave an apply running)
    expect(second.code).not.toBe(0);
    expect(second.out).toContain("Error acquiring the state lock");
    expect(second.out).not.toMatch(/Creating\.\.\./);
    // ...while the first one was still at work (otherwise the refusal would prove nothing).
    expect(firstStillRunning).toBe(true);

    // lb-down fails (its own error only) and so the apply exits non-zero...
    expect(r.code).not.toBe(0);
    const errors = r.out.split("\n").filter((l) => /^Error: /.test(l.trim()) || /with terraform_data\./.test(l));
    expect(errors.join("\n")).toMatch(/with terraform_data\.lb-down__upload/);
    expect(errors.join("\n")).not.toMatch(/terraform_data\.lb-[ab]_/);
    expect(r.out).toMatch(new RegExp(`127\\.0\\.0\\.1:${closedPort}.*connection refused`));
    // ...but both reachable hosts ran every step, verify included.
    for (const host of ["lb-a", "lb-b"]) {
      for (const step of STEPS) expect(r.out).toMatch(new RegExp(`terraform_data\\.${host}_${step}_[0-9A-F]+: Creation complete`));
    }
    // Parallel: lb-b started before lb-a finished (the chains are independent).
    const firstB = r.out.indexOf("terraform_data.lb-b__upload");
    const lastA = r.out.lastIndexOf("terraform_data.lb-a_verify");
    expect(firstB).toBeGreaterThanOrEqual(0);
    expect(firstB).toBeLessThan(lastA);

    for (const [host, guest] of [["lb-a", guests.a], ["lb-b", guests.b]] as const) {
      const v = guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh");
      expect({ host, code: v.code, out: v.stdout + v.stderr }).toEqual({ host, code: 0, out: expect.stringContaining("OK: host matches the desired state") });
    }
    // Each guest has its own host's service, and only that.
    expect(guests.a.sshOk("ipvsadm -Sn")).toMatch(/-A -t 172\.16\.1\.8:1000 -s rr/);
    expect(guests.a.sshOk("ipvsadm -Sn")).not.toContain(":1100");
    expect(guests.b.sshOk("ipvsadm -Sn")).toMatch(/-A -t 172\.16\.1\.8:1100 -s wrr/);
    expect(guests.b.sshOk("ipvsadm -Sn")).not.toContain(":1000");
    const viaA = connectN(guests.a, VIP, 1010, 2);
    const viaB = connectN(guests.b, VIP, 1120, 2);
    expect({ viaA, viaB, ok: isRoundRobin(viaA) && isRoundRobin(viaB) }).toEqual({ viaA, viaB, ok: true });

    // The state, read back from PostgreSQL, holds every resource of both reachable hosts, none tainted.
    const listed = await stateList();
    const resources = await stateResources();
    for (const host of ["lb-a", "lb-b"]) {
      for (const step of STEPS) {
        const res = resources[`fleet/${host}/${step}`];
        expect({ step: `${host}/${step}`, inState: !!res && listed.includes(res.address), tainted: res?.tainted }).toEqual({ step: `${host}/${step}`, inState: true, tainted: false });
      }
    }
    // Nothing of lb-down but its failed (tainted) upload.
    expect(Object.entries(resources).filter(([p]) => p.startsWith("fleet/lb-down/")).map(([p, v]) => [p, v.tainted])).toEqual([["fleet/lb-down/_upload", true]]);
    expect(fs.existsSync(path.join(STACK_DIR, "terraform.tfstate"))).toBe(false);
    expect(pg.psql("SELECT name FROM terraform_remote_state.states ORDER BY name")).toBe("default");
    expect(pg.psql("SELECT position('lb-a_verify' in data) > 0 AND position('lb-b_verify' in data) > 0 FROM terraform_remote_state.states WHERE name = 'default'")).toBe("t");
  });

  test("the data fixed (the missing host taken out), the next apply converges without touching the others", async () => {
    const before = await stateResources();
    fleet = { ...fleet, hosts: fleet.hosts.filter((h) => h.name !== "lb-down") };
    expect(synth(fleet)).toEqual(["lb-a", "lb-b"]);
    const r = await terraform("apply-fixed", "apply", "-auto-approve", "-input=false", "-lock-timeout=60s");
    const out = mustSucceed("terraform apply (fixed data)", r);
    expect(out).toMatch(/Apply complete! Resources: 0 added, 0 changed, 1 destroyed\./);
    const after = await stateResources();
    expect(Object.keys(after).sort()).toEqual(["lb-a", "lb-b"].flatMap((h) => STEPS.map((s) => `fleet/${h}/${s}`)).sort());
    for (const [p, res] of Object.entries(after)) expect({ p, id: res.id }).toEqual({ p, id: before[p].id });
    for (const guest of [guests.a, guests.b]) expect(guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh").code).toBe(0);
  });

  test("destroy (an apply meanwhile is refused: the state exists now) removes every host's services and files; the state in PostgreSQL is empty", async () => {
    const destroy = new Terraform("destroy", ["destroy", "-auto-approve", "-input=false", "-lock-timeout=60s"]);
    await destroy.waitFor(/Destroying\.\.\./);
    const other = await terraform("apply-during-destroy", "apply", "-auto-approve", "-input=false", "-lock-timeout=0s");
    const destroyStillRunning = destroy.running;
    const destroyed = await destroy.done;
    expect(other.code).not.toBe(0);
    expect(other.out).toContain("Error acquiring the state lock");
    expect(other.out).toMatch(/already locked/i);
    expect(destroyStillRunning).toBe(true);
    mustSucceed("terraform destroy", destroyed);
    for (const guest of [guests.a, guests.b]) {
      expect(guest.sshOk("ipvsadm -Sn").trim()).toBe("");
      expect(guest.sshOk("ls /var/lib/cdktf-ipvs /etc/sysctl.d/90-cdktf-ipvs.conf 2>&1 || true")).toMatch(/No such file[\s\S]*No such file/);
    }
    expect(await stateList()).toEqual([]);
  });
});
