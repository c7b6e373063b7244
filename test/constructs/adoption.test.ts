/**
 * What a new user meets first (issue 11): the default engine brings its own null provider (once
 * per stack, only when the stack has none), the constructs come from the app's copy of
 * cdktf/cdktn, read-only access to what was declared, and a narrow package entry.
 */
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { App, TerraformStack, Testing } from "cdktf";
import { IConstruct } from "constructs";
import * as publicApi from "../../lib";
import { CDK_LIBRARY, chooseCdkLibrary } from "../../lib/constructs/cdk";
import { IpvsNullProvider, NULL_PROVIDER_ID } from "../../lib/constructs/engine";
import { IpvsHost, IpvsHostProps } from "../../lib/constructs";
import * as internal from "../../lib/internal";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function seed(stack: TerraformStack, id = "lb1", props: Partial<IpvsHostProps> = {}, host = "127.0.0.1"): IpvsHost {
  const lb = new IpvsHost(stack, id, { connection: { host, privateKeyPath: "/keys/id" }, ...props });
  const svc = lb.addVirtualService("app", { protocol: "tcp", address: "172.16.1.8", port: 1000, scheduler: "rr" });
  svc.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
  svc.addRealServer({ address: "172.16.1.8", port: 1002, forwarding: "masquerade" });
  svc.addAlias({ port: 1010, method: "redirect" });
  return lb;
}

/** Synthesizes with validations on (as app.synth() does); throws what cdktf's validations report. */
function synth(stack: TerraformStack): Json {
  return JSON.parse(Testing.synth(stack, true));
}

const ours = (stack: TerraformStack) => stack.node.findAll().filter((c: IConstruct) => c instanceof IpvsNullProvider);

describe("null provider for the default engine", () => {
  test("negative control: cdktf refuses a null_resource without a null provider", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    new NullResource(stack, "r");
    expect(() => synth(stack)).toThrow(/Found resources without a matching provider construct.*null/);
  });

  test("a stack without a NullProvider synthesizes, with the same provider blocks as @cdktf/provider-null's", () => {
    const bare = new TerraformStack(Testing.app(), "s");
    seed(bare);
    const withOwn = new TerraformStack(Testing.app(), "s");
    new NullProvider(withOwn, "null");
    seed(withOwn);
    const a = synth(bare);
    const b = synth(withOwn);
    expect(a.provider).toEqual({ null: [{}] });
    expect(a.terraform.required_providers).toEqual({ null: { source: "null", version: "3.2.4" } });
    expect(a.provider).toEqual(b.provider);
    expect(a.terraform.required_providers).toEqual(b.terraform.required_providers);
    expect(a.resource).toEqual(b.resource);
  });

  test("HCL output (hclOutput): the same text as with @cdktf/provider-null's NullProvider", () => {
    const bare = new TerraformStack(Testing.app(), "s");
    seed(bare);
    const withOwn = new TerraformStack(Testing.app(), "s");
    new NullProvider(withOwn, "null");
    seed(withOwn);
    const hcl: string = Testing.synthHcl(bare, true);
    expect(hcl).toMatch(/provider "null" \{/);
    expect(hcl).toMatch(/resource "null_resource" "lb1_modules_[0-9A-F]+" \{/);
    expect(hcl).toMatch(/triggers = \{/);
    // The same blocks; only the provider block's place differs (ours is added with the first host).
    const providerBlock = /^provider "null" \{\n\}\n?/m;
    const other: string = Testing.synthHcl(withOwn, true);
    expect(hcl.match(new RegExp(providerBlock, "gm"))).toHaveLength(1);
    expect(other.match(new RegExp(providerBlock, "gm"))).toHaveLength(1);
    const rest = (text: string) => text.replace(providerBlock, "").replace(/\n{2,}/g, "\n").trim();
    expect(rest(hcl)).toBe(rest(other));
  });

  test("once per stack: two hosts share one provider; a second stack gets its own", () => {
    const app = Testing.app();
    const one = new TerraformStack(app, "one");
    seed(one, "lb1", {}, "127.0.0.1");
    seed(one, "lb2", {}, "127.0.0.2");
    const two = new TerraformStack(app, "two");
    seed(two, "lb1", {}, "127.0.0.3");
    expect(ours(one)).toHaveLength(1);
    expect(ours(two)).toHaveLength(1);
    expect(ours(one)[0].node.id).toBe(NULL_PROVIDER_ID);
    expect(synth(one).provider.null).toHaveLength(1);
    expect(synth(two).provider.null).toHaveLength(1);
  });

  test("not added when the stack already has a null provider", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    new NullProvider(stack, "null", { alias: "mine" });
    seed(stack);
    expect(ours(stack)).toHaveLength(0);
    expect(synth(stack).provider).toEqual({ null: [{ alias: "mine" }] });
  });

  test("steps aside when the app adds its own null provider after the first host", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    seed(stack);
    new NullProvider(stack, "null", { alias: "late" });
    expect(ours(stack)).toHaveLength(1);
    const json = synth(stack);
    expect(json.provider).toEqual({ null: [{ alias: "late" }] });
    expect(json.terraform.required_providers).toEqual({ null: { source: "null", version: "3.2.4" } });
  });

  test("not added for the terraform_data engine", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    seed(stack, "lb1", { engine: "terraform_data" });
    expect(ours(stack)).toHaveLength(0);
    const json = synth(stack);
    expect(json.provider).toBeUndefined();
    expect(json.terraform?.required_providers).toBeUndefined();
    expect(Object.keys(json.resource)).toEqual(["terraform_data"]);
  });
});

describe("read-only access to what was declared", () => {
  test("virtualServices, realServers and aliases list the declarations in order", () => {
    const lb = seed(new TerraformStack(Testing.app(), "s"));
    lb.addVirtualService("dns", { protocol: "udp", address: "172.16.1.8", port: 53 });
    expect(lb.virtualServices.map((s) => s.node.id)).toEqual(["app", "dns"]);
    const [app, dns] = lb.virtualServices;
    expect(app.realServers).toEqual([
      { address: "172.16.1.8", port: 1001, forwarding: "masquerade" },
      { address: "172.16.1.8", port: 1002, forwarding: "masquerade" },
    ]);
    expect(app.aliases).toEqual([{ port: 1010, method: "redirect" }]);
    expect(dns.realServers).toEqual([]);
    expect(dns.aliases).toEqual([]);
  });

  test("they are copies: changing them changes nothing the host synthesizes", () => {
    const lb = seed(new TerraformStack(Testing.app(), "s"));
    const before = JSON.stringify(lb.desiredState);
    (lb.virtualServices as unknown as unknown[]).pop();
    const [app] = lb.virtualServices;
    (app.realServers as unknown as { weight?: number }[])[0].weight = 0;
    (app.realServers as unknown[]).pop();
    (app.aliases as unknown as { port: number }[])[0].port = 2000;
    expect(lb.virtualServices).toHaveLength(1);
    expect(app.realServers).toHaveLength(2);
    expect(app.realServers[0].weight).toBeUndefined();
    expect(app.aliases[0].port).toBe(1010);
    expect(JSON.stringify(lb.desiredState)).toBe(before);
  });
});

describe("which CDK the constructs are built from", () => {
  const only = (...names: string[]) => (n: string) => names.includes(n);
  test("the one installed; with both, the one the app loaded; $CDKTF_IPVS_CDK overrides", () => {
    expect(chooseCdkLibrary({}, only("cdktf"), only())).toBe("cdktf");
    expect(chooseCdkLibrary({}, only("cdktn"), only())).toBe("cdktn");
    expect(chooseCdkLibrary({}, only("cdktf", "cdktn"), only("cdktn"))).toBe("cdktn");
    expect(chooseCdkLibrary({}, only("cdktf", "cdktn"), only("cdktf"))).toBe("cdktf");
    expect(chooseCdkLibrary({}, only("cdktf", "cdktn"), only())).toBe("cdktf");
    expect(chooseCdkLibrary({ CDKTF_IPVS_CDK: "cdktn" }, only("cdktf", "cdktn"), only("cdktf"))).toBe("cdktn");
    expect(() => chooseCdkLibrary({}, only(), only())).toThrow(/neither cdktf nor cdktn can be found.*npm install cdktn constructs/);
    expect(() => chooseCdkLibrary({ CDKTF_IPVS_CDK: "cdk8s" }, only("cdktf"), only())).toThrow(/CDKTF_IPVS_CDK="cdk8s" is not one of cdktf, cdktn/);
  });

  test("in this repository: cdktf", () => {
    expect(CDK_LIBRARY).toBe("cdktf");
  });

  test("an App from another copy of cdktf is refused with the fix, not a TypeError at synth", () => {
    let other!: typeof import("cdktf");
    jest.isolateModules(() => {
      other = require("cdktf");
    });
    expect(other.App).not.toBe(App);
    const stack = new other.TerraformStack(new other.App(), "s");
    expect(() => seed(stack as unknown as TerraformStack)).toThrow(/s\/lb1: this app's App comes from another copy of CDK for Terraform than the cdktf that cdktf-ipvs loaded.*single copy of cdktf/);
  });
});

describe("package entry", () => {
  test("exports the constructs, their props' vocabularies, the policy entry points and the matchers, nothing else", () => {
    expect(Object.keys(publicApi).sort()).toEqual(
      [
        "ALIAS_METHODS",
        "CDK_LIBRARIES",
        "CDK_LIBRARY",
        "CDK_LIBRARY_ENV",
        "CONVERGE_MODES",
        "FORWARDING_METHODS",
        "HOST_RULES",
        "IpvsHost",
        "IpvsModelError",
        "IpvsPolicy",
        "IpvsPolicyChecks",
        "PROTOCOLS",
        "PROVISIONING_ENGINES",
        "PlanFormatError",
        "SCHEDULERS",
        "SCHEDULER_FLAGS",
        "STEP_NAMES",
        "UPLOAD_STEP",
        "VirtualService",
        "checkHost",
        "checkTerraformPlan",
        "conntrackMaxFor",
        "formatFinding",
        "formatIssue",
        "formatPlan",
        "ipvsMatchers",
        "planSummaryLines",
      ].sort(),
    );
  });

  test("internals are in cdktf-ipvs/internal, not the entry", () => {
    for (const name of ["shQuote", "sha256", "escapeTerraformTemplate", "renderHost", "createStepResource", "IpvsNullProvider"]) {
      expect(internal).toHaveProperty(name);
      expect(publicApi).not.toHaveProperty(name);
    }
  });
});
