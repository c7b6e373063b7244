import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { App, TerraformResource, TerraformStack } from "cdktf";
import { IpvsHost } from "../../lib/constructs";
import { buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { PlanFormatError, checkTerraformPlan } from "../../lib/policy";
import { DESIRED_STATE_MARKER, bundleScripts, readDesiredState, renderHost, stepCommands } from "../../lib/render";
import { seedHost, seedService } from "../fixtures";

/** Synthesizes a terraform_data stack, runs real `terraform plan` and returns `terraform show -json`. */
function planJson(tamper?: (lb: IpvsHost) => void): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-plan-"));
  const app = new App({ outdir: dir });
  const stack = new TerraformStack(app, "s");
  const lb = new IpvsHost(stack, "lb1", { engine: "terraform_data", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/k" } });
  const svc = lb.addVirtualService("app", { address: "172.16.1.8", port: 1000, scheduler: "rr" });
  svc.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
  svc.addAlias({ port: 1010 });
  tamper?.(lb);
  app.synth();
  const cwd = path.join(dir, "stacks", "s");
  const env = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
  execFileSync("terraform", ["init", "-input=false"], { cwd, env, stdio: "pipe" });
  execFileSync("terraform", ["plan", "-input=false", "-out=plan.bin"], { cwd, env, stdio: "pipe" });
  const text = execFileSync("terraform", ["show", "-json", "plan.bin"], { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (process.env.DEBUG_PLAN) fs.writeFileSync(process.env.DEBUG_PLAN, text);
  return JSON.parse(text);
}

describe("checkTerraformPlan (terraform show -json)", () => {
  test("finds the host in the plan and runs the host rules on what will be applied", () => {
    const findings = checkTerraformPlan(planJson());
    expect(findings.filter((f) => f.level === "error")).toEqual([]);
    expect(findings.map((f) => f.ruleId)).toContain("IPVS002");
    expect(findings[0].path).toBe("s/lb1");
  });

  test("IPVS005: an override that makes aliases stop depending on sysctls is an error", () => {
    const findings = checkTerraformPlan(
      planJson((lb) => {
        // Skip the sysctls step: ipvs (and so aliases) now hangs directly off modules.
        const modules = lb.steps.modules as TerraformResource;
        lb.steps.ipvs.dependsOn = [`terraform_data.${modules.friendlyUniqueId}`];
        lb.steps.ipvs.addOverride("triggers_replace.upstream", modules.getStringAttribute("id"));
      }),
    );
    expect(findings[0]).toMatchObject({ ruleId: "IPVS005", level: "error", path: "s/lb1" });
  });

  test("IPVS006: an upload overridden with another apply.sh is not what the steps run", () => {
    const findings = checkTerraformPlan(
      planJson((lb) => {
        const other = renderHost(planHost({ ...lb.desiredState, sysctls: [] })).scripts["apply.sh"];
        lb.upload.addOverride("provisioner.1.file.content", bundleScripts({ ...lb.rendered.scripts, "apply.sh": other }));
      }),
    );
    const ipvs006 = findings.filter((f) => f.ruleId === "IPVS006");
    expect(ipvs006).toHaveLength(1);
    expect(ipvs006[0].detail).toMatch(
      /^terraform_data\.lb1_modules_\w+, terraform_data\.lb1_sysctls_\w+, terraform_data\.lb1_ipvs_\w+, terraform_data\.lb1_aliases_\w+, terraform_data\.lb1_boot_\w+ run apply\.sh with sha256 [0-9a-f]{12}…, but terraform_data\.lb1__upload_\w+ uploads one with sha256 [0-9a-f]{12}…$/,
    );
  });

  test("IPVS006: a step overridden to run another apply.sh is named", () => {
    const findings = checkTerraformPlan(
      planJson((lb) => {
        lb.steps.aliases.addOverride("provisioner.0.remote-exec.inline", [stepCommands("aliases", "${self.id}", "0".repeat(64)).run]);
      }),
    );
    const ipvs006 = findings.filter((f) => f.ruleId === "IPVS006");
    expect(ipvs006).toHaveLength(1);
    expect(ipvs006[0].detail).toMatch(/^terraform_data\.lb1_aliases_\w+ runs apply\.sh with sha256 000000000000…/);
  });

  test("a malformed marker inside the uploaded bundle, or a bundle that is not one, cannot be checked (naming the upload)", () => {
    const bad = planJson((lb) => {
      lb.upload.addOverride("provisioner.1.file.content", bundleScripts({ ...lb.rendered.scripts, "apply.sh": "#!/bin/sh\n# cdktf-ipvs-desired-state: {not json\n" }));
    });
    expect(() => checkTerraformPlan(bad)).toThrow(PlanFormatError);
    expect(() => checkTerraformPlan(bad)).toThrow(/^plan: terraform_data\.lb1__upload_\w+: the file provisioner's script cannot be checked: the desired-state marker line is not valid JSON/);
    const notBundle = planJson((lb) => lb.upload.addOverride("provisioner.1.file.content", "H4sIAAAA-not-a-bundle"));
    expect(() => checkTerraformPlan(notBundle)).toThrow(/^plan: terraform_data\.lb1__upload_\w+: the file provisioner's upload cannot be checked: the upload is not base64/);
  });

  test("a plan without cdktf-ipvs resources yields nothing", () => {
    expect(checkTerraformPlan(minimalPlan([]))).toEqual([]);
  });
});

/** The smallest thing `terraform show -json PLANFILE` prints, with these root resources. */
function minimalPlan(resources: unknown[]): Record<string, unknown> {
  return { format_version: "1.2", terraform_version: "1.11.4", planned_values: { root_module: {} }, configuration: { root_module: { resources } } };
}

const host = buildDesiredHost(seedHost());
const applyOf = (h = host) => renderHost(planHost(h)).scripts["apply.sh"];

/** A hand-made plan with the three steps IPVS006's CLI test uses, in terraform show -json form. */
function stepsPlan(content = applyOf()): Record<string, unknown> {
  return minimalPlan([
    { address: "terraform_data.v", depends_on: ["terraform_data.a"], provisioners: [{ type: "remote-exec", expressions: { inline: { constant_value: ["sh /var/lib/cdktf-ipvs/verify.sh"] } } }] },
    {
      address: "terraform_data.a",
      depends_on: ["terraform_data.s"],
      expressions: { triggers_replace: { references: ["terraform_data.s.id", "terraform_data.s"] }, connection: [{ host: { constant_value: "h" } }] },
      provisioners: [
        { type: "file", expressions: { content: { constant_value: content }, destination: { constant_value: "/var/lib/cdktf-ipvs/apply.sh" } } },
        { type: "remote-exec", expressions: { inline: { constant_value: ["sh /var/lib/cdktf-ipvs/apply.sh --generation ${self.id} aliases"] } } },
      ],
    },
    {
      address: "terraform_data.s",
      provisioners: [
        { type: "file", expressions: { content: { constant_value: applyOf() } } },
        { type: "remote-exec", expressions: { inline: { constant_value: ["sh /var/lib/cdktf-ipvs/apply.sh --generation ${self.id} sysctls"] } } },
      ],
    },
  ]);
}

describe("check-plan refuses what is not a terraform show -json plan", () => {
  test("the hand-made plan is accepted and checked", () => {
    const findings = checkTerraformPlan(stepsPlan());
    expect(findings.filter((f) => f.level === "error")).toEqual([]);
    expect(findings.map((f) => f.ruleId)).toContain("IPVS002");
  });

  test.each([
    ["{}", {}, /format_version, terraform_version, planned_values, configuration are missing; produce one with: terraform plan -out=plan.bin && terraform show -json plan.bin > plan.json/],
    ["a cdktf-ipvs spec", { hosts: [seedHost()] }, /this is a cdktf-ipvs spec, not a Terraform plan; check a spec with: cdktf-ipvs check --spec/],
    ["a state (terraform show -json without a plan file)", { format_version: "1.0", terraform_version: "1.11.4", values: { root_module: {} } }, /this is a Terraform state .*"values".*not a plan; produce one with: terraform plan -out=plan.bin/],
    ["an empty state", { format_version: "1.0" }, /terraform_version, planned_values, configuration are missing/],
    ["an array", [], /expected the JSON object terraform show -json prints for a plan, got an array/],
    ["null", null, /got null/],
    ["a string", "plan", /got a string/],
    ["another format version", { ...minimalPlan([]), format_version: "2.0" }, /format_version "2.0" is not supported; expected 1.x/],
    ["format_version not a string", { ...minimalPlan([]), format_version: 1.2 }, /format_version is a number, expected a string/],
    ["planned_values not an object", { ...minimalPlan([]), planned_values: [] }, /planned_values is an array, expected an object/],
    ["resource_changes not an array", { ...minimalPlan([]), resource_changes: {} }, /resource_changes is an object, expected an array/],
    ["no root_module", { ...minimalPlan([]), configuration: {} }, /configuration.root_module is missing, expected an object/],
  ])("%s", (_, plan, message) => {
    expect(() => checkTerraformPlan(plan)).toThrow(PlanFormatError);
    expect(() => checkTerraformPlan(plan)).toThrow(message);
  });
});

describe("wrong types anywhere in the plan are a PlanFormatError, never a TypeError", () => {
  const resource = (r: Record<string, unknown>) => minimalPlan([{ address: "terraform_data.x", ...r }]);
  test.each([
    ["resources not an array", { ...minimalPlan([]), configuration: { root_module: { resources: {} } } }, /configuration.root_module.resources is an object, expected an array/],
    ["a resource that is null", minimalPlan([null]), /resources\[0\] is null, expected an object/],
    ["address not a string", minimalPlan([{ address: 7 }]), /resources\[0\].address is a number/],
    ["depends_on not an array", resource({ depends_on: "terraform_data.y" }), /resources\[0\].depends_on is a string, expected an array/],
    ["depends_on with a number", resource({ depends_on: [1] }), /depends_on\[0\] is a number, expected a string/],
    ["expressions not an object", resource({ expressions: [] }), /expressions is an array, expected an object/],
    ["an expression that is null", resource({ expressions: { triggers_replace: null } }), /expressions.triggers_replace is null/],
    ["references not an array", resource({ expressions: { triggers_replace: { references: "x" } } }), /references is a string, expected an array/],
    ["provisioners not an array", resource({ provisioners: { type: "file" } }), /provisioners is an object, expected an array/],
    ["a provisioner that is a string", resource({ provisioners: ["file"] }), /provisioners\[0\] is a string, expected an object/],
    ["provisioner type not a string", resource({ provisioners: [{ type: 1 }] }), /provisioners\[0\].type is a number/],
    ["provisioner expressions null", resource({ provisioners: [{ type: "file", expressions: null }] }), /provisioners\[0\].expressions is null/],
    ["inline not an array", resource({ provisioners: [{ type: "remote-exec", expressions: { inline: { constant_value: "sh x" } } }] }), /inline.constant_value is a string, expected an array/],
    ["inline not strings", resource({ provisioners: [{ type: "remote-exec", expressions: { inline: { constant_value: [["sh /var/lib/cdktf-ipvs/verify.sh"]] } } }] }), /inline.constant_value\[0\] is an array, expected a string/],
    ["inline not an object", resource({ provisioners: [{ type: "remote-exec", expressions: { inline: "sh x" } }] }), /expressions.inline is a string, expected an object/],
    ["content not a string", resource({ provisioners: [{ type: "file", expressions: { content: { constant_value: 5 } } }] }), /content.constant_value is a number, expected a string/],
    ["module_calls not an object", { ...minimalPlan([]), configuration: { root_module: { module_calls: [] } } }, /module_calls is an array/],
    ["a module call that is null", { ...minimalPlan([]), configuration: { root_module: { module_calls: { m: null } } } }, /module_calls.m is null/],
    ["a nested module that is a string", { ...minimalPlan([]), configuration: { root_module: { module_calls: { m: { module: "x" } } } } }, /module_calls.m.module is a string/],
  ])("%s", (_, plan, message) => {
    expect(() => checkTerraformPlan(plan)).toThrow(PlanFormatError);
    expect(() => checkTerraformPlan(plan)).toThrow(message);
  });

  test("every value of a valid plan replaced by every other JSON type: findings or PlanFormatError, nothing else", () => {
    const base = stepsPlan();
    const replacements: unknown[] = [null, 0, "", "x", true, [], {}, [null], [1], { constant_value: 1 }, { references: [1] }];
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, at: (string | number)[]) => {
      paths.push(at);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
      else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    };
    walk(base, []);
    let tried = 0;
    for (const at of paths) {
      for (const r of replacements) {
        const plan = JSON.parse(JSON.stringify(base));
        if (at.length === 0) continue;
        let parent = plan;
        for (const k of at.slice(0, -1)) parent = parent[k];
        parent[at[at.length - 1]] = r;
        tried++;
        try {
          expect(Array.isArray(checkTerraformPlan(plan))).toBe(true);
        } catch (e) {
          if (!(e instanceof PlanFormatError)) throw new Error(`at ${at.join(".")} = ${JSON.stringify(r)}: ${(e as Error).stack}`);
        }
      }
    }
    expect(tried).toBeGreaterThan(300);
  });
});

describe("a malformed desired-state marker is a PlanFormatError naming the resource", () => {
  test.each([
    ["invalid JSON", `#!/bin/sh\n${DESIRED_STATE_MARKER}{"name": \n`, /not valid JSON/],
    ["JSON null", `${DESIRED_STATE_MARKER}null\n`, /desired state is not an object/],
    ["a JSON array", `${DESIRED_STATE_MARKER}[]\n`, /desired state is not an object/],
    ["a number for the name", `${DESIRED_STATE_MARKER}${JSON.stringify({ ...host, name: 1 })}\n`, /desired state.name is not a string/],
    ["services not an array", `${DESIRED_STATE_MARKER}${JSON.stringify({ ...host, services: {} })}\n`, /desired state.services is not an array/],
    ["a service of no known kind", `${DESIRED_STATE_MARKER}${JSON.stringify({ ...host, services: [{ ...host.services[0], kind: "x" }] })}\n`, /desired state.services\[0\].kind is not one of address, fwmark/],
    ["a real server without a port", `${DESIRED_STATE_MARKER}${JSON.stringify({ ...host, services: [{ ...host.services[0], realServers: [{ address: "1.2.3.4" }] }] })}\n`, /realServers\[0\].port is not a number/],
    ["aliases missing", `${DESIRED_STATE_MARKER}${JSON.stringify({ ...host, aliases: undefined })}\n`, /desired state.aliases is not an array/],
    ["sysctls of strings", `${DESIRED_STATE_MARKER}${JSON.stringify({ ...host, sysctls: ["a=1"] })}\n`, /desired state.sysctls\[0\] is not an object/],
    ["two marker lines", `${applyOf()}${DESIRED_STATE_MARKER}${JSON.stringify(host)}\n`, /2 desired-state marker lines/],
  ])("%s", (_, content, message) => {
    expect(() => readDesiredState(content)).toThrow(message);
    const plan = stepsPlan(content);
    expect(() => checkTerraformPlan(plan)).toThrow(PlanFormatError);
    expect(() => checkTerraformPlan(plan)).toThrow(/^plan: terraform_data\.a: the file provisioner's script cannot be checked: /);
    expect(() => checkTerraformPlan(plan)).toThrow(message);
  });

  test("what the renderer writes reads back as it was, for every kind of host", () => {
    const hosts = [
      host,
      buildDesiredHost({ name: "empty" }),
      buildDesiredHost({
        name: "lb-mixed",
        sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 },
        virtualServices: [
          seedService(),
          { name: "dns", protocol: "udp", address: "172.16.1.8", port: 53, scheduler: "wrr", persistence: { timeout: 300, netmask: "255.255.255.0" }, realServers: [{ address: "10.9.9.9", forwarding: "gatewaying", weight: 3 }] },
          { name: "v6", address: "fd00:16::8", port: 1000, scheduler: "lc", persistence: { timeout: 60, netmask: 64 }, realServers: [{ address: "fd00:16::8", port: 1001, forwarding: "masquerade" }], aliases: [{ port: 1010, method: "dnat", localClients: true }] },
          { name: "mark", fwmark: 7, scheduler: "mh", schedulerFlags: ["mh-port"], realServers: [{ address: "10.0.0.2", forwarding: "gatewaying", upperThreshold: 100, lowerThreshold: 10 }] },
        ],
      }),
    ];
    for (const h of hosts) expect(readDesiredState(applyOf(h))).toEqual(JSON.parse(JSON.stringify(h)));
    expect(readDesiredState("#!/bin/sh\necho no marker\n")).toBeUndefined();
  });
});
