/**
 * The fleet example (examples/fleet): its data file synthesizes into one stack with one IpvsHost
 * per host, local state by default and Terraform's pg backend when a connection string is given,
 * and Terraform accepts the result. No guest, no database (test/e2e/fleet.e2e.test.ts deploys it).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Testing } from "cdktf";
import { FleetFile, FleetStack, checkConnStr } from "../../examples/fleet/fleet";
import { loadFleetFile, synthFleet } from "../../examples/fleet/main";

const EXAMPLE = path.resolve(__dirname, "../../examples/fleet");
const DATA_FILE = path.join(EXAMPLE, "fleet.json");
const STEPS = ["_upload", "modules", "sysctls", "ipvs", "aliases", "boot", "verify"];

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-fleet-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function synthesized(env: NodeJS.ProcessEnv) {
  const outdir = path.join(tmp, "out");
  const stack = synthFleet({ FLEET_FILE: DATA_FILE, ...env }, outdir);
  const dir = path.join(outdir, "stacks", "fleet");
  return { stack, dir, json: JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8")) };
}

/** Terraform resource address prefix (construct path) → step names found under it. */
function stepsByHost(json: { resource: Record<string, Record<string, { "//": { metadata: { path: string } } }>> }) {
  const byHost: Record<string, string[]> = {};
  for (const [type, resources] of Object.entries(json.resource)) {
    expect(type).toBe("terraform_data");
    for (const r of Object.values(resources)) {
      const [stack, host, step] = r["//"].metadata.path.split("/");
      expect(stack).toBe("fleet");
      (byHost[host] ??= []).push(step);
    }
  }
  for (const steps of Object.values(byHost)) steps.sort();
  return byHost;
}

describe("examples/fleet", () => {
  const data = loadFleetFile(DATA_FILE);

  test("the data file synthesizes into one stack: one IpvsHost per host, each with its own steps and connection", () => {
    const { stack, json } = synthesized({});
    expect(stack.hosts.map((h) => h.node.id)).toEqual(data.hosts.map((h) => h.name));
    expect(data.hosts.length).toBeGreaterThanOrEqual(3);
    const byHost = stepsByHost(json);
    expect(Object.keys(byHost).sort()).toEqual(data.hosts.map((h) => h.name).sort());
    // Only lb-a has an alias, but every host gets the same fixed chain of steps.
    for (const steps of Object.values(byHost)) expect(steps).toEqual([...STEPS].sort());
    // Each host's steps connect to that host (from the data file, merged over the defaults).
    for (const h of data.hosts) {
      const modules = Object.values(json.resource.terraform_data as Record<string, { triggers_replace: Record<string, unknown>; input: Record<string, unknown>; "//": { metadata: { path: string } } }>).find(
        (r) => r["//"].metadata.path === `fleet/${h.name}/modules`,
      )!;
      expect(modules.triggers_replace.host).toBe(h.connection.host);
      expect(Number(modules.triggers_replace.port)).toBe(h.connection.port ?? 22);
      expect(modules.input.private_key_path).toBe(data.defaults?.connection?.privateKeyPath);
    }
    // Each host's services are its own.
    const ipvs = stack.hosts.map((h) => h.desiredState.services.map((s) => (s.kind === "fwmark" ? `fwmark ${s.fwmark}` : `${s.protocol} ${s.address}:${s.port}`)));
    expect(ipvs).toEqual(data.hosts.map((h) => (h.virtualServices ?? []).map((s) => `${s.protocol ?? "tcp"} ${s.address}:${s.port}`)));
    // No provider to download: terraform_data only.
    expect(json.provider).toBeUndefined();
    expect(json.terraform.required_providers).toBeUndefined();
  });

  test("without a connection string the state stays in the local file (cdktf's default)", () => {
    const { json } = synthesized({});
    expect(Object.keys(json.terraform.backend)).toEqual(["local"]);
    expect(json.terraform.backend.local.path).toMatch(/terraform\.fleet\.tfstate$/);
  });

  test("with FLEET_PG_CONN_STR the state goes to Terraform's pg backend, and Terraform accepts the stack", () => {
    const connStr = "postgres://terraform@127.0.0.1:5432/ipvs_fleet?sslmode=disable";
    const { json, dir } = synthesized({ FLEET_PG_CONN_STR: connStr, FLEET_PG_SCHEMA: "lb_fleet" });
    expect(json.terraform.backend).toEqual({ pg: { conn_str: connStr, schema_name: "lb_fleet" } });
    // terraform_data is built in: init (without the backend, there is no database here) needs no download.
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
    const init = spawnSync("terraform", ["init", "-backend=false", "-input=false", "-no-color"], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
    expect({ status: init.status, out: init.stdout + init.stderr }).toEqual({ status: 0, out: expect.stringContaining("Terraform has been successfully initialized") });
    expect(init.stdout).not.toMatch(/Finding|Installing/);
    const validate = spawnSync("terraform", ["validate", "-no-color"], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
    expect(validate.stdout + validate.stderr).toContain("The configuration is valid");
    expect(validate.status).toBe(0);
  });

  test("a connection string with a password is refused: it would land in cdk.tf.json", () => {
    for (const bad of [
      "postgres://terraform:s3cret@db.example.net/ipvs_fleet",
      "postgresql://terraform@db.example.net/ipvs_fleet?password=s3cret",
      "host=db.example.net user=terraform password=s3cret dbname=ipvs_fleet",
    ]) {
      expect(() => checkConnStr(bad)).toThrow(/holds a password.*PGPASSWORD/s);
      expect(() => synthesized({ FLEET_PG_CONN_STR: bad })).toThrow(/holds a password/);
    }
    expect(() => checkConnStr("host=db.example.net user=terraform dbname=ipvs_fleet sslmode=verify-full")).not.toThrow();
    expect(fs.readFileSync(DATA_FILE, "utf8")).not.toMatch(/password|PRIVATE KEY/i);
  });

  test("every bad host is reported, each under its own path; the same machine twice is refused", () => {
    const fleet: FleetFile = {
      hosts: [
        { name: "ok", connection: { host: "192.0.2.1", privateKeyPath: "/k" }, virtualServices: [{ name: "s", address: "192.0.2.10", port: 80, realServers: [{ address: "192.0.2.20", forwarding: "masquerade" }] }] },
        { name: "bad1", connection: { host: "192.0.2.2", privateKeyPath: "/k" }, virtualServices: [{ name: "s", address: "192.0.2.10", port: 70000 }] },
        { name: "bad2", connection: { host: "192.0.2.3", privateKeyPath: "/k" }, virtualServices: [{ name: "s", address: "192.0.2.10", port: 80, realServers: [{ address: "192.0.2.20", forwarding: "masquerade", weight: -1 }] }] },
        { name: "twin", connection: { host: "192.0.2.1", privateKeyPath: "/k" } },
      ],
    };
    let message = "";
    try {
      new FleetStack(Testing.app(), "fleet", fleet);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^fleet: 3 host\(s\) are invalid/);
    expect(message).toMatch(/fleet\/bad1.*port 70000/);
    expect(message).toMatch(/fleet\/bad2.*weight -1/);
    expect(message).toMatch(/fleet\/twin.*already managed by fleet\/ok/);
  });

  test("the file's own shape is checked: unknown keys, missing connection, duplicate names, no hosts", () => {
    const make = (f: unknown) => () => new FleetStack(Testing.app(), "fleet", f as FleetFile);
    expect(make({ hosts: [], enigne: "terraform_data" })).toThrow(/unknown key "enigne"[\s\S]*"hosts" must be a non-empty list/);
    expect(make({ hosts: [{ name: "a", virtualServices: [] }] })).toThrow(/hosts\[0\]: "connection.host" is required/);
    expect(make({ hosts: [{ name: "a", connection: { host: "192.0.2.1" } }, { name: "a", connection: { host: "192.0.2.2" } }] })).toThrow(/hosts\[1\]: host name "a" is used twice/);
    expect(make({ hosts: [{ name: "a", connection: { host: "192.0.2.1" }, ssh: { host: "192.0.2.1" } }] })).toThrow(/give "connection", not "ssh"/);
  });
});
