import "cdktf/lib/testing/adapters/jest"; // types of the cdktf jest matchers
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { App, DataResource, LocalBackend, TerraformOutput, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { Construct } from "constructs";
import { IpvsHost, IpvsHostProps, escapeTerraformTemplate } from "../../lib/constructs";
import { IpvsModelError } from "../../lib/model";
import { sha256 } from "../../lib/plan";
import { manifestText, readBundle, stepCommands, uploadCommands } from "../../lib/render";
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

/** The host a build function declares, without synthesizing. */
function seedHostOf(build: (stack: TerraformStack) => IpvsHost): IpvsHost {
  return build(new TerraformStack(Testing.app(), "test"));
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

function uploadResource(json: Json, type = "null_resource"): [string, Json] {
  const found = Object.entries(json.resource?.[type] ?? {}).find(([, r]) => ((r as Json).triggers ?? (r as Json).triggers_replace).step === "upload");
  if (!found) throw new Error("no upload resource");
  return found as [string, Json];
}

describe("IpvsHost with the default engine (null_resource)", () => {
  const json = synthJson((s) => seedHost(s));
  const order = ["modules", "sysctls", "ipvs", "aliases", "boot", "verify"];
  const nameOf = (step: string) => Object.entries(json.resource.null_resource).find(([, r]) => (r as Json).triggers.step === step)![0];

  test("creates one upload and a fixed chain of six step resources, not one per rule", () => {
    expect(stepResources(json)).toHaveLength(7);
    expect(stepResources(json).map((r) => r.triggers.step).sort()).toEqual([...order, "upload"].sort());
  });

  test("each step depends on the one before and on the upload, and carries the one before's id (not the upload's) in triggers", () => {
    const upload = `null_resource.${uploadResource(json)[0]}`;
    expect(byStep(json, "modules").depends_on).toEqual([upload]);
    expect(byStep(json, "modules").triggers.upstream).toBeUndefined();
    for (let i = 1; i < order.length; i++) {
      const step = byStep(json, order[i]);
      expect(step.depends_on).toEqual([`null_resource.${nameOf(order[i - 1])}`, upload]);
      expect(step.triggers.upstream).toBe(`\${null_resource.${nameOf(order[i - 1])}.id}`);
    }
    // Only verify, the last step, re-runs on every upload (a new verify.sh checks the host again).
    for (const step of order.slice(0, -1)) expect(byStep(json, step).triggers.upload).toBeUndefined();
    expect(byStep(json, "verify").triggers.upload).toBe(`\${${upload}.id}`);
  });

  test("triggers carry what each step makes true, one entry per object, in the operator's words", () => {
    expect(byStep(json, "ipvs").triggers["-t 172.16.1.8:1000"]).toBe(
      ["-A -t 172.16.1.8:1000 -s rr", "-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1", "-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1"].join("\n"),
    );
    const aliases = byStep(json, "aliases").triggers;
    expect(aliases["-t 172.16.1.8:1000"]).toBe(
      [
        "iptables -t nat -A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment cdktf-ipvs:app -j REDIRECT --to-ports 1000",
        "iptables -t nat -A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000",
      ].join("\n"),
    );
    expect(aliases.chains).toBe("iptables -t nat -A PREROUTING -m comment --comment cdktf-ipvs -j CDKTF-IPVS-PRE");
    expect(aliases.requires).toBe("net.ipv4.vs.conntrack = 1");
    expect(byStep(json, "sysctls").triggers["/etc/sysctl.d/90-cdktf-ipvs.conf"]).toContain("\nnet.ipv4.vs.conntrack = 1");
    expect(byStep(json, "modules").triggers["/etc/modules-load.d/cdktf-ipvs.conf"]).toContain("\nip_vs\nip_vs_rr\nnf_conntrack");
    expect(byStep(json, "boot").triggers["/etc/systemd/system/cdktf-ipvs.service"]).toContain("ExecStart=/bin/sh /var/lib/cdktf-ipvs/apply.sh --boot");
    for (const r of stepResources(json)) expect(r.triggers.step_hash).toBeUndefined();
    for (const r of stepResources(json)) expect(r.triggers.format).toBe("1");
  });

  test("connects through self references, so destroy-time provisioners can connect too", () => {
    for (const step of [...order, "upload"]) {
      const r = step === "upload" ? uploadResource(json)[1] : byStep(json, step);
      expect(r.connection).toEqual({
        type: "ssh",
        host: "${self.triggers.host}",
        port: "${self.triggers.port}",
        user: "${self.triggers.user}",
        private_key: "${file(self.triggers.private_key_path)}",
        agent: "false",
        timeout: "5m",
      });
    }
  });

  test("the upload step uploads the three scripts once, as one bundle, and checks their hashes", () => {
    const lb = seedHostOf((s) => seedHost(s));
    const [, upload] = uploadResource(json);
    const provisioners = upload.provisioner as Json[];
    expect(provisioners.map((p) => Object.keys(p)[0])).toEqual(["remote-exec", "file", "remote-exec"]);
    expect(provisioners[0]["remote-exec"].inline).toEqual(["mkdir -p '/var/lib/cdktf-ipvs' && chmod 700 '/var/lib/cdktf-ipvs'"]);
    expect(provisioners[1].file.destination).toBe("/var/lib/cdktf-ipvs/scripts.tar.gz.b64");
    expect(readBundle(provisioners[1].file.content)).toEqual({ ...lb.rendered.scripts });
    const hashes = Object.fromEntries(Object.entries(lb.rendered.scripts).map(([n, c]) => [n, sha256(c)]));
    expect(provisioners[2]["remote-exec"].inline).toEqual([uploadCommands(hashes as never).run]);
    expect(upload.triggers).toMatchObject({
      step: "upload",
      "/var/lib/cdktf-ipvs/apply.sh": `sha256 ${hashes["apply.sh"]}`,
      "/var/lib/cdktf-ipvs/verify.sh": `sha256 ${hashes["verify.sh"]}`,
      "/var/lib/cdktf-ipvs/destroy.sh": `sha256 ${hashes["destroy.sh"]}`,
    });
    // No destroy provisioner: a superseded upload must not remove what its successor uploaded.
    expect(provisioners.some((p) => p["remote-exec"]?.when === "destroy")).toBe(false);
    // The only copy of the scripts in the whole configuration.
    const fileProvisioners = stepResources(json).flatMap((r) => (r.provisioner as Json[]).filter((p) => p.file));
    expect(fileProvisioners).toHaveLength(1);
  });

  test("each step runs the uploaded apply.sh after checking its hash, and undoes itself on destroy", () => {
    const lb = seedHostOf((s) => seedHost(s));
    const provisioners = byStep(json, "aliases").provisioner as Json[];
    expect(provisioners.map((p) => Object.keys(p)[0])).toEqual(["remote-exec", "remote-exec"]);
    const run: string = provisioners[0]["remote-exec"].inline[0];
    expect(run).toBe(stepCommands("aliases", "${self.id}", sha256(lb.rendered.scripts["apply.sh"])).run);
    expect(run.startsWith(`printf '%s\\n' '${sha256(lb.rendered.scripts["apply.sh"])}  /var/lib/cdktf-ipvs/apply.sh' | sha256sum -c --quiet - || { echo 'cdktf-ipvs: /var/lib/cdktf-ipvs/apply.sh on the host is not the one this plan uploaded`)).toBe(true);
    expect(run.endsWith("; sh '/var/lib/cdktf-ipvs/apply.sh' --generation '${self.id}' aliases")).toBe(true);
    expect(provisioners[1]["remote-exec"].when).toBe("destroy");
    expect(provisioners[1]["remote-exec"].inline[0]).toContain("destroy.sh' --generation '${self.id}' aliases");
  });

  test("the verify step runs the uploaded verify.sh after checking its hash", () => {
    const lb = seedHostOf((s) => seedHost(s));
    const provisioners = byStep(json, "verify").provisioner as Json[];
    expect(provisioners).toHaveLength(1);
    expect(provisioners[0]["remote-exec"].inline).toEqual([stepCommands("verify", "", sha256(lb.rendered.scripts["verify.sh"])).run]);
  });

  test("replaces create-before-destroy, so updates converge without tearing down first", () => {
    for (const r of stepResources(json)) expect(r.lifecycle).toEqual({ create_before_destroy: true });
  });

  test("matches the null_resource schema", () => {
    const synthesized = Testing.synthScope((scope) => {
      seedHost(scope as TerraformStack);
    });
    expect(synthesized).toHaveResourceWithProperties(NullResource, { triggers: expect.objectContaining({ step: "sysctls", host: "127.0.0.1", port: "2222" }) });
  });
});

describe("IpvsHost outputs for the review", () => {
  const json = synthJson((s) => seedHost(s));

  test("the plan summary (one line per entry, IPv6 bracketed) and the manifest hash, per host", () => {
    const lb = seedHostOf((s) => seedHost(s));
    expect(Object.keys(json.output).sort()).toEqual(["lb1_ipvs_manifest_sha256", "lb1_ipvs_summary"]);
    expect(lb.rendered.manifestHash).toBe(sha256(manifestText(lb.rendered.manifest)));
    expect(json.output.lb1_ipvs_manifest_sha256.value).toMatch(/^[0-9a-f]{64}$/);
    const summary: string[] = json.output.lb1_ipvs_summary.value;
    expect(summary[0]).toBe("host lb1 (test/lb1)");
    expect(summary).toContain("       - service tcp 172.16.1.8:1000 (app) rr → 172.16.1.8:1001 masquerade w1, 172.16.1.8:1002 masquerade w1");
    // Without step hashes: a change shows only the lines that really changed.
    expect(summary.join("\n")).not.toMatch(/\[[0-9a-f]{12}\]/);
  });

  test("IPv6 real servers and aliases are bracketed in the summary", () => {
    const j = synthJson((s) => {
      const lb = new IpvsHost(s, "lb6", { connection: { host: "10.0.0.6", agent: true } });
      const svc = lb.addVirtualService("web", { address: "2001:db8::10", port: 443, scheduler: "rr" });
      svc.addRealServer({ address: "2001:db8:1::21", port: 443, forwarding: "masquerade" });
      svc.addAlias({ port: 8443, method: "dnat" });
    });
    const summary: string = j.output.lb6_ipvs_summary.value.join("\n");
    expect(summary).toContain("service tcp [2001:db8::10]:443 (web) rr → [2001:db8:1::21]:443 masquerade w1");
    expect(summary).toContain("alias tcp [2001:db8::10]:8443 → [2001:db8::10]:443 (web, dnat, remote clients)");
    expect(summary).not.toMatch(/[^[]2001:db8:1::21:443/);
  });

  test("two hosts in one stack with the same id keep apart outputs", () => {
    const j = synthJson((s) => {
      const a = new Construct(s, "a");
      const b = new Construct(s, "b");
      new IpvsHost(a, "lb", { connection: { host: "10.0.0.1", agent: true } });
      new IpvsHost(b, "lb", { connection: { host: "10.0.0.2", agent: true } });
    });
    expect(Object.keys(j.output)).toHaveLength(4);
    expect(Object.keys(j.output)).toContain("lb_ipvs_summary");
  });

  test("construct paths with template syntax reach the summary and the triggers as text", () => {
    const j = synthJson((s) => {
      const group = new Construct(s, "g${var.x}%{if}");
      const lb = new IpvsHost(group, "lb", { hostName: "lb1", engine: "terraform_data", connection: { host: "10.0.0.1", agent: true } });
      lb.addVirtualService("app", { address: "172.16.1.8", port: 1000 }).addRealServer({ address: "10.0.0.9", port: 1001, forwarding: "masquerade" });
    });
    const text = JSON.stringify({ output: j.output, resource: j.resource }, (k, v) => (k === "//" ? undefined : v));
    expect(text).toContain("g$${var.x}%%{if}");
    expect(text).not.toMatch(/(^|[^$])\$\{var\.x/);
    expect(text).not.toMatch(/(^|[^%])%\{if/);
  });
});

describe("IpvsHost step triggers", () => {
  const triggers = (weight: number) => {
    const json = synthJson((s) => {
      const lb = new IpvsHost(s, "lb1", { connection: { host: "127.0.0.1", agent: true } });
      const app = lb.addVirtualService("app", { address: "172.16.1.8", port: 1000, scheduler: "rr" });
      app.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight });
      app.addAlias({ port: 1010 });
    });
    return Object.fromEntries(stepResources(json).map((r) => [r.triggers.step, r.triggers]));
  };

  test("changing a weight changes the ipvs step's entry for that service (and the upload), not the steps before it", () => {
    const a = triggers(1);
    const b = triggers(2);
    expect(a.modules).toEqual(b.modules);
    expect(a.sysctls).toEqual(b.sysctls);
    expect(a.ipvs["-t 172.16.1.8:1000"]).toContain("-r 172.16.1.8:1001 -m -w 1");
    expect(b.ipvs["-t 172.16.1.8:1000"]).toContain("-r 172.16.1.8:1001 -m -w 2");
    expect(a.aliases).toEqual(b.aliases); // re-run through its upstream id, which Terraform knows after apply
    expect(a.upload["/var/lib/cdktf-ipvs/apply.sh"]).not.toBe(b.upload["/var/lib/cdktf-ipvs/apply.sh"]);
  });
});

describe("IpvsHost step triggers for other shapes of host", () => {
  test("IPv6 aliases in ip6tables words, local clients in OUTPUT, fwmark services by their mark", () => {
    const json = synthJson((s) => {
      const lb = new IpvsHost(s, "lb1", { connection: { host: "10.0.0.1", agent: true } });
      const web = lb.addVirtualService("web", { address: "2001:db8::10", port: 443, scheduler: "wrr" });
      web.addRealServer({ address: "2001:db8:1::21", forwarding: "masquerade", weight: 3 });
      web.addAlias({ port: 8443, method: "dnat", localClients: true });
      lb.addVirtualService("marked", { fwmark: 7, scheduler: "rr" }).addRealServer({ address: "10.0.0.5", forwarding: "gatewaying" });
    });
    expect(byStep(json, "ipvs").triggers["-t [2001:db8::10]:443"]).toBe("-A -t [2001:db8::10]:443 -s wrr\n-a -t [2001:db8::10]:443 -r [2001:db8:1::21]:443 -m -w 3");
    expect(byStep(json, "ipvs").triggers["-f 7"]).toBe("-A -f 7 -s rr\n-a -f 7 -r 10.0.0.5:0 -g -w 1");
    const aliases = byStep(json, "aliases").triggers;
    expect(aliases["-t [2001:db8::10]:443"]).toBe(
      [
        "ip6tables -t nat -A CDKTF-IPVS-PRE -d 2001:db8::10/128 -p tcp -m tcp --dport 8443 -m comment --comment cdktf-ipvs:web -j DNAT --to-destination [2001:db8::10]:443",
        "ip6tables -t nat -A CDKTF-IPVS-OUT -d 2001:db8::10/128 -p tcp -m tcp --dport 8443 -m comment --comment cdktf-ipvs:web -j DNAT --to-destination [2001:db8::10]:443",
      ].join("\n"),
    );
    expect(aliases.chains).toBe(
      "ip6tables -t nat -A PREROUTING -m comment --comment cdktf-ipvs -j CDKTF-IPVS-PRE\nip6tables -t nat -A OUTPUT -m comment --comment cdktf-ipvs -j CDKTF-IPVS-OUT",
    );
  });

  test("a host without services or aliases says what the steps remove", () => {
    const json = synthJson((s) => new IpvsHost(s, "lb1", { connection: { host: "10.0.0.1", agent: true } }));
    expect(byStep(json, "ipvs").triggers.services).toBe("none: removes the IPVS services cdktf-ipvs added before");
    expect(byStep(json, "aliases").triggers.chains).toBe("none: removes CDKTF-IPVS-PRE and CDKTF-IPVS-OUT if present");
    expect(byStep(json, "aliases").triggers.requires).toBeUndefined();
  });

  test("a renamed host re-runs the steps whose files name it (the files on the host change too)", () => {
    const named = (hostName: string) =>
      Object.fromEntries(stepResources(synthJson((s) => new IpvsHost(s, "lb1", { hostName, connection: { host: "10.0.0.1", agent: true } }))).map((r) => [r.triggers.step, r.triggers]));
    const a = named("lb1");
    const b = named("edge1");
    expect(a.modules).not.toEqual(b.modules);
    expect(a.boot).not.toEqual(b.boot);
    expect(b.modules["/etc/modules-load.d/cdktf-ipvs.conf"]).toContain("host edge1");
  });
});

describe("IpvsHost with the terraform_data engine", () => {
  const json = synthJson((s) => seedHost(s, { engine: "terraform_data" }));

  test("uses triggers_replace for what re-runs a step and input for the key path", () => {
    expect(uploadResource(json, "terraform_data")[1].input).toEqual({ private_key_path: "/keys/id" });
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
    expect(() => new IpvsHost(stack, "lb1", { connection: { host: "10.0.0.1; reboot", port: 0 } })).toThrow(/connection.host .* is not an IP address or DNS name[\s\S]*connection.port 0 is out of range/);
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
    expect(stack.lb.desiredState.sysctls.map((s) => `${s.key}=${s.value}`)).toEqual(["net.ipv4.vs.conntrack=1", "net.ipv4.vs.expire_nodest_conn=1", "net.ipv4.vs.expire_quiescent_template=1"]);
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
    // expire_quiescent_template by default; expire_nodest_conn from the spec's sysctls.
    expect(lb.desiredState.sysctls.map((x) => x.key)).toEqual(["net.ipv4.vs.conntrack", "net.ipv4.vs.expire_quiescent_template", "net.ipv4.vs.expire_nodest_conn"]);
  });

  test("errors name the host's construct path and the place in the spec", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const bad = { ...spec, virtualServices: [{ ...spec.virtualServices[0], realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade" as const, weight: -5 }] }] };
    expect(() => IpvsHost.fromSpec(stack, "lb", bad, { connection: { host: "10.0.0.1" } })).toThrow("s/lb.virtualServices[0].realServers[0]: weight -5 is out of range");
  });
});
