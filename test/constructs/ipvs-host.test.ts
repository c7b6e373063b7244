import "cdktf/lib/testing/adapters/jest"; // types of the cdktf jest matchers
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { App, DataResource, LocalBackend, TerraformOutput, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { IpvsHost, IpvsHostProps, escapeTerraformTemplate } from "../../lib/constructs";
import { IpvsModelError } from "../../lib/model";
import { SeedStack } from "../../main";
import { requireTerraform } from "./terraform";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function seedHost(stack: TerraformStack, props: Partial<IpvsHostProps> = {}): IpvsHost {
  const lb = new IpvsHost(stack, "lb1", { connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/keys/id" }, ...props });
  const app = lb.addVirtualService("app", { protocol: "tcp", address: "172.16.1.8", port: 1000, scheduler: "rr" });
  app.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
  app.addRealServer({ address: "172.16.1.8", port: 1002, forwarding: "masquerade" });
  app.addAlias({ port: 1010, method: "redirect" });
  app.addAlias({ port: 1020, method: "dnat" });
  return lb;
}

function synthJson(build: (stack: TerraformStack) => void): Json {
  const app = Testing.app();
  const stack = new TerraformStack(app, "test");
  build(stack);
  return JSON.parse(Testing.synth(stack));
}

function stepResources(json: Json, type = "null_resource"): Json[] {
  const all = json.resource?.[type] ?? {};
  return Object.values(all) as Json[];
}

function byStep(json: Json, step: string, type = "null_resource"): Json {
  const found = stepResources(json, type).find((r) => (r.triggers ?? r.triggers_replace).step === step);
  if (!found) throw new Error(`no ${step} resource`);
  return found;
}

describe("IpvsHost with the default engine (null_resource)", () => {
  const json = synthJson((s) => seedHost(s));

  test("creates a fixed chain of six provisioning resources, not one per rule", () => {
    expect(stepResources(json)).toHaveLength(6);
  });

  test("each step depends on the one before and carries its id in triggers", () => {
    const order = ["modules", "sysctls", "ipvs", "aliases", "boot", "verify"];
    for (let i = 1; i < order.length; i++) {
      const step = byStep(json, order[i]);
      const previous = Object.entries(json.resource.null_resource).find(([, r]) => (r as Json).triggers.step === order[i - 1])![0];
      expect(step.depends_on).toEqual([`null_resource.${previous}`]);
      expect(step.triggers.upstream).toBe(`\${null_resource.${previous}.id}`);
    }
    expect(byStep(json, "modules").triggers.upstream).toBeUndefined();
  });

  test("triggers carry the step's content hash", () => {
    expect(byStep(json, "ipvs").triggers.step_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("connects through self references, so destroy-time provisioners can connect too", () => {
    expect(byStep(json, "ipvs").connection).toEqual({
      type: "ssh",
      host: "${self.triggers.host}",
      port: "${self.triggers.port}",
      user: "${self.triggers.user}",
      private_key: "${file(self.triggers.private_key_path)}",
      agent: "false",
      timeout: "5m",
    });
  });

  test("uploads apply.sh and destroy.sh, runs its step, and undoes it on destroy", () => {
    const provisioners = byStep(json, "aliases").provisioner as Json[];
    expect(provisioners.map((p) => Object.keys(p)[0])).toEqual(["remote-exec", "file", "file", "remote-exec", "remote-exec"]);
    expect(provisioners[1].file.destination).toBe("/var/lib/cdktf-ipvs/apply.sh");
    expect(provisioners[2].file.destination).toBe("/var/lib/cdktf-ipvs/destroy.sh");
    expect(provisioners[3]["remote-exec"].inline).toEqual(["sh /var/lib/cdktf-ipvs/apply.sh --generation ${self.id} aliases"]);
    expect(provisioners[4]["remote-exec"].when).toBe("destroy");
    expect(provisioners[4]["remote-exec"].inline[0]).toContain("destroy.sh --generation ${self.id} aliases");
  });

  test("the verify step uploads and runs verify.sh", () => {
    const provisioners = byStep(json, "verify").provisioner as Json[];
    expect(provisioners[1].file.destination).toBe("/var/lib/cdktf-ipvs/verify.sh");
    expect(provisioners[2]["remote-exec"].inline).toEqual(["sh /var/lib/cdktf-ipvs/verify.sh"]);
  });

  test("replaces create-before-destroy, so updates converge without tearing down first", () => {
    for (const r of stepResources(json)) expect(r.lifecycle).toEqual({ create_before_destroy: true });
  });

  test("escapes script text for Terraform's template syntax", () => {
    const content: string = (byStep(json, "ipvs").provisioner as Json[])[1].file.content;
    expect(content).toContain('[ "$${#1}" -le 64 ]');
    expect(content).not.toMatch(/(^|[^$])\$\{/);
  });

  test("matches the null_resource schema", () => {
    const synthesized = Testing.synthScope((scope) => {
      seedHost(scope as TerraformStack);
    });
    expect(synthesized).toHaveResourceWithProperties(NullResource, { triggers: expect.objectContaining({ step: "sysctls", host: "127.0.0.1", port: "2222" }) });
  });
});

describe("IpvsHost step hashes", () => {
  const hashes = (weight: number) => {
    const json = synthJson((s) => {
      const lb = new IpvsHost(s, "lb1", { connection: { host: "127.0.0.1", agent: true } });
      const app = lb.addVirtualService("app", { address: "172.16.1.8", port: 1000, scheduler: "rr" });
      app.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight });
      app.addAlias({ port: 1010 });
    });
    return Object.fromEntries(stepResources(json).map((r) => [r.triggers.step, r.triggers.step_hash]));
  };

  test("changing a weight re-runs the ipvs step (and what follows), not the steps before it", () => {
    const a = hashes(1);
    const b = hashes(2);
    expect(a.modules).toBe(b.modules);
    expect(a.sysctls).toBe(b.sysctls);
    expect(a.ipvs).not.toBe(b.ipvs);
  });
});

describe("IpvsHost with the terraform_data engine", () => {
  const json = synthJson((s) => seedHost(s, { engine: "terraform_data" }));

  test("uses triggers_replace for what re-runs a step and input for the key path", () => {
    const r = byStep(json, "ipvs", "terraform_data");
    expect(r.triggers_replace).toMatchObject({ step: "ipvs", host: "127.0.0.1", port: "2222", user: "root" });
    expect(r.triggers_replace.private_key_path).toBeUndefined();
    expect(r.input).toEqual({ private_key_path: "/keys/id" });
    expect(r.connection.host).toBe("${self.triggers_replace.host}");
    expect(r.connection.private_key).toBe("${file(self.input.private_key_path)}");
  });

  test("is valid Terraform and plans successfully (real terraform init, no provider download)", () => {
    requireTerraform();
    const app = Testing.app();
    const stack = new TerraformStack(app, "tfdata");
    seedHost(stack, { engine: "terraform_data" });
    const synthesized = Testing.fullSynth(stack);
    expect(synthesized).toBeValidTerraform();
    expect(synthesized).toPlanSuccessfully();
  });
});

describe("IpvsHost private keys", () => {
  test("refuses connection.privateKey (the key would be stored in state) and says what to use instead", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const key = new TerraformVariable(stack, "ssh_key", { type: "string", sensitive: true });
    const connection = { host: "10.0.0.1", privateKey: key } as unknown as IpvsHostProps["connection"];
    let error: unknown;
    try {
      new IpvsHost(stack, "lb1", { connection });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IpvsModelError);
    const issue = (error as IpvsModelError).issues[0];
    expect(issue).toMatchObject({ path: "s/lb1", prop: "connection.privateKey", value: "<redacted>" });
    expect(issue.message).toMatch(/is not supported: the key would be stored in Terraform state/);
    expect(issue.message).toMatch(/privateKeyPath/);
    expect(issue.message).toMatch(/agent: true/);
  });

  test("rejects key text passed as a path", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    expect(() => new IpvsHost(stack, "lb1", { connection: { host: "10.0.0.1", privateKeyPath: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc" } })).toThrow(
      /holds key text, not a path/,
    );
  });
});

describe("IpvsHost validation at synth time, naming the construct path", () => {
  const newHost = () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "stack");
    return { stack, lb: new IpvsHost(stack, "lb1", { connection: { host: "10.0.0.1" } }) };
  };

  test("a bad weight throws at addRealServer with the real server's path", () => {
    const { lb } = newHost();
    const app = lb.addVirtualService("app", { address: "172.16.1.8", port: 1000 });
    expect(() => app.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: 70000 })).toThrow(
      "stack/lb1/app/realServer[0]: weight 70000 is out of range; allowed 0–65535",
    );
  });

  test("an alias on a gatewaying service throws at addAlias and leaves the host valid", () => {
    const { lb } = newHost();
    const app = lb.addVirtualService("app", { address: "172.16.1.8", port: 1000 });
    app.addRealServer({ address: "10.0.0.2", forwarding: "gatewaying" });
    expect(() => app.addAlias({ port: 1010 })).toThrow(IpvsModelError);
    expect(lb.desiredState.aliases).toEqual([]);
  });

  test("conntrack false with an alias is refused", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "stack");
    const lb = new IpvsHost(stack, "lb1", { connection: { host: "10.0.0.1" }, conntrack: false });
    const svc = lb.addVirtualService("app", { address: "172.16.1.8", port: 1000 });
    expect(() => svc.addAlias({ port: 1010 })).toThrow("stack/lb1: conntrack false is not allowed while the host has aliases");
  });

  test("a bad service prop throws at addVirtualService with the service path", () => {
    const { lb } = newHost();
    expect(() => lb.addVirtualService("app", { address: "172.16.1.8", port: 1000, scheduler: "fast" as never })).toThrow(
      'stack/lb1/app: scheduler "fast" is not an IPVS scheduler',
    );
    // The refused service is not left behind.
    expect(() => lb.addVirtualService("app", { address: "172.16.1.8", port: 1000 })).not.toThrow();
  });

  test("bad connection props are refused", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "stack");
    expect(() => new IpvsHost(stack, "lb1", { connection: { host: "10.0.0.1; reboot", port: 0 } })).toThrow(/connection.host .* is not a host name[\s\S]*connection.port 0 is out of range/);
  });

  test("an unknown engine is refused", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "stack");
    expect(() => new IpvsHost(stack, "lb1", { connection: { host: "h" }, engine: "ansible" as never })).toThrow(
      'engine "ansible" is not a provisioning engine; allowed: null_resource, terraform_data',
    );
  });
});

describe("main.ts (the seed's scenario)", () => {
  test("synthesizes with conntrack=1 in the plan and both aliases", () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-main-")) });
    const stack = new SeedStack(app, "seed", {});
    expect(stack.lb.desiredState.sysctls.map((s) => `${s.key}=${s.value}`)).toEqual(["net.ipv4.vs.conntrack=1"]);
    expect(stack.lb.desiredState.aliases.map((a) => a.port)).toEqual([1010, 1020]);
    app.synth();
  });
});


describe("escapeTerraformTemplate, checked by Terraform itself", () => {
  test("Terraform evaluates the escaped text back to the exact script", () => {
    requireTerraform();
    const script = 'a=${x:-1} %{ if } $${y} ${#1} "quoted" \\ back\n';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-escape-"));
    const app = new App({ outdir: dir });
    const stack = new TerraformStack(app, "escape");
    new LocalBackend(stack, { path: path.join(dir, "escape.tfstate") }); // not in the repository
    new DataResource(stack, "holder", { input: { text: escapeTerraformTemplate(script) } });
    new TerraformOutput(stack, "text", { value: escapeTerraformTemplate(script) });
    app.synth();
    const stackDir = path.join(dir, "stacks", "escape");
    const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
    execFileSync("terraform", ["init", "-input=false"], { cwd: stackDir, env, stdio: "pipe" });
    execFileSync("terraform", ["apply", "-input=false", "-auto-approve"], { cwd: stackDir, env, stdio: "pipe" });
    const out = execFileSync("terraform", ["output", "-raw", "text"], { cwd: stackDir, env, encoding: "utf8" });
    expect(out).toBe(script);
  });
});

describe("one IpvsHost per machine", () => {
  test("a second IpvsHost for the same host and port is refused, naming the first", () => {
    const app = Testing.app();
    const a = new TerraformStack(app, "a");
    const b = new TerraformStack(app, "b");
    new IpvsHost(a, "lb1", { connection: { host: "10.0.0.1" } });
    expect(() => new IpvsHost(b, "lb1", { connection: { host: "10.0.0.1", port: 22 } })).toThrow(
      'b/lb1: connection.host "10.0.0.1" port 22 is already managed by a/lb1',
    );
  });
  test("another port on the same address is another machine (e.g. forwarded SSH)", () => {
    const app = Testing.app();
    const s = new TerraformStack(app, "s");
    new IpvsHost(s, "lb1", { connection: { host: "127.0.0.1", port: 2201 } });
    expect(() => new IpvsHost(s, "lb2", { connection: { host: "127.0.0.1", port: 2202 } })).not.toThrow();
  });
});

describe("IpvsHost.fromSpec", () => {
  const spec = {
    name: "lb1",
    sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 },
    virtualServices: [
      {
        name: "app",
        address: "172.16.1.8",
        port: 1000,
        scheduler: "rr" as const,
        realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade" as const }],
        aliases: [{ port: 1010 }],
      },
    ],
  };

  test("declares the same host as the CLI would render", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const lb = IpvsHost.fromSpec(stack, "lb", spec, { connection: { host: "10.0.0.1" } });
    const { buildDesiredHost: build } = jest.requireActual("../../lib/model");
    const strip = (h: unknown) => JSON.parse(JSON.stringify(h, (k, v) => (k === "path" ? undefined : v)));
    // The construct adds the SSH endpoint it provisions through (for the lockout check).
    expect(strip(lb.desiredState)).toEqual(strip(build({ ...spec, ssh: { host: "10.0.0.1", port: 22 } })));
    expect(lb.desiredState.sysctls.map((x) => x.key)).toEqual(["net.ipv4.vs.conntrack", "net.ipv4.vs.expire_nodest_conn"]);
  });

  test("errors name the host's construct path and the place in the spec", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const bad = { ...spec, virtualServices: [{ ...spec.virtualServices[0], realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade" as const, weight: -5 }] }] };
    expect(() => IpvsHost.fromSpec(stack, "lb", bad, { connection: { host: "10.0.0.1" } })).toThrow("s/lb.virtualServices[0].realServers[0]: weight -5 is out of range");
  });
});
