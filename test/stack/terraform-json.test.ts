import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStacks, PLAN_JSON_HOST, readStackJson, readTerraformConfiguration, targetOf } from "../../lib/stack";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "stack-json-"));
}

describe("readTerraformConfiguration reads provisioning resources", () => {
  const json = {
    resource: {
      null_resource: {
        lb: {
          "//": { metadata: { path: "app/lb", uniqueId: "lb" } },
          triggers: { host: "172.16.1.8", upstream: "${null_resource.base.id}" },
          connection: { type: "ssh", host: "${self.triggers.host}", user: "root" },
          depends_on: ["null_resource.modules"],
          count: 2,
          provisioner: [
            { "remote-exec": { inline: ["ipvsadm -C"] } },
            { file: { content: "x", destination: "/tmp/x" } },
            { "remote-exec": { inline: ["ipvsadm -C"], when: "destroy" } },
          ],
        },
        base: {},
        modules: { provisioner: { "remote-exec": [{ inline: ["modprobe ip_vs"] }, { inline: ["modprobe ip_vs_rr"] }], "local-exec": { command: "true" } } },
      },
    },
  };
  const stack = readTerraformConfiguration(json);
  const lb = stack.resources.find((r) => r.address === "null_resource.lb")!;

  test("provisioners keep their order, type and when", () => {
    expect(lb.provisioners.map((p) => [p.index, p.type, p.when])).toEqual([
      [0, "remote-exec", "create"],
      [1, "file", "create"],
      [2, "remote-exec", "destroy"],
    ]);
    expect(lb.provisioners[2].args).toEqual({ inline: ["ipvsadm -C"] });
  });

  test("the object form { type: [...] } gives one provisioner per block, in key order", () => {
    const modules = stack.resources.find((r) => r.address === "null_resource.modules")!;
    expect(modules.provisioners.map((p) => [p.type, p.args])).toEqual([
      ["remote-exec", { inline: ["modprobe ip_vs"] }],
      ["remote-exec", { inline: ["modprobe ip_vs_rr"] }],
      ["local-exec", { command: "true" }],
    ]);
  });

  test("depends_on and references are kept apart; count and the construct path are noted", () => {
    expect(lb.dependsOn).toEqual(["null_resource.modules"]);
    expect(lb.references).toEqual(["null_resource.base"]);
    expect(lb.repetition).toEqual({ kind: "count", expression: 2 });
    expect(lb.constructPath).toBe("app/lb");
    expect(Object.keys(lb.attributes)).toEqual(["triggers"]);
  });

  test("the connection host comes from the resource's own triggers, port 22 by default", () => {
    expect(targetOf(stack, lb, lb.provisioners[0])).toEqual({ key: "172.16.1.8:22", host: "172.16.1.8", port: "22", resolved: true });
  });
});

describe("targetOf resolves connection hosts", () => {
  const stackWith = (resource: object, variable: object = {}) => {
    const stack = readTerraformConfiguration({ variable, resource: { terraform_data: { r: resource } } });
    return { stack, resource: stack.resources[0] };
  };

  test("self.triggers_replace and self.input, IPv6 in brackets", () => {
    const { stack, resource } = stackWith({
      triggers_replace: { host: "fd00::8" },
      input: { port: 2222 },
      connection: { host: "${self.triggers_replace.host}", port: "${self.input.port}" },
      provisioner: [{ "remote-exec": { inline: ["true"] } }],
    });
    expect(targetOf(stack, resource, resource.provisioners[0]).key).toBe("[fd00::8]:2222");
  });

  test("a provisioner's connection overrides the resource's field by field", () => {
    const { stack, resource } = stackWith({
      connection: { host: "10.0.0.1", port: 2200 },
      provisioner: [{ "remote-exec": { inline: ["true"], connection: { host: "10.0.0.2" } } }],
    });
    expect(targetOf(stack, resource, resource.provisioners[0]).key).toBe("10.0.0.2:2200");
  });

  test("var.X resolves to the variable's default", () => {
    const { stack, resource } = stackWith({ connection: { host: "${var.lb_host}" } }, { lb_host: { default: "172.16.1.8" } });
    expect(targetOf(stack, resource).key).toBe("172.16.1.8:22");
  });

  test("an unresolved reference is grouped by its expression", () => {
    const { stack, resource } = stackWith({ connection: { host: "${aws_instance.lb.public_ip}" } });
    expect(targetOf(stack, resource)).toEqual({ key: "${aws_instance.lb.public_ip}:22", host: "${aws_instance.lb.public_ip}", port: "22", resolved: false });
  });
});

describe("loadStacks finds stacks on disk and never throws", () => {
  const resource = { resource: { null_resource: { a: { provisioner: [{ "remote-exec": { inline: ["true"] } }] } } } };

  test("a cdktf.out directory (or the project holding it) gives one stack per stacks/<name>/cdk.tf.json", () => {
    const project = tempDir();
    for (const name of ["b", "a"]) {
      fs.mkdirSync(path.join(project, "cdktf.out", "stacks", name), { recursive: true });
      fs.writeFileSync(path.join(project, "cdktf.out", "stacks", name, "cdk.tf.json"), JSON.stringify(resource));
    }
    expect(loadStacks(path.join(project, "cdktf.out")).map((s) => [s.name, s.resources.length])).toEqual([["a", 1], ["b", 1]]);
    expect(loadStacks(project).map((s) => s.name)).toEqual(["a", "b"]);
    expect(loadStacks(path.join(project, "cdktf.out", "stacks", "a")).map((s) => s.directory)).toEqual([path.join(project, "cdktf.out", "stacks", "a")]);
  });

  test("a directory of *.tf.json files is one configuration", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "a.tf.json"), JSON.stringify(resource));
    fs.writeFileSync(path.join(dir, "b.tf.json"), JSON.stringify({ resource: { terraform_data: { b: { depends_on: ["null_resource.a"] } } } }));
    const [stack] = loadStacks(dir);
    expect(stack.resources.map((r) => r.address)).toEqual(["null_resource.a", "terraform_data.b"]);
    expect(stack.files.map((f) => path.basename(f))).toEqual(["a.tf.json", "b.tf.json"]);
  });

  test("a missing path, an empty directory and broken JSON are problems", () => {
    const dir = tempDir();
    expect(loadStacks(path.join(dir, "nope"))[0].problems).toEqual([`${path.join(dir, "nope")}: not found`]);
    expect(loadStacks(dir)[0].problems).toEqual([`${dir}: no cdk.tf.json, *.tf.json or cdktf.out/stacks/*/cdk.tf.json found`]);
    fs.writeFileSync(path.join(dir, "bad.tf.json"), "{ nope");
    expect(loadStacks(path.join(dir, "bad.tf.json"))[0].problems[0]).toMatch(/^.*bad\.tf\.json: .*JSON/);
  });
});

describe("plan JSON (terraform show -json)", () => {
  test("is told apart from a configuration by its shape; modules are read recursively", () => {
    const plan = {
      format_version: "1.2",
      configuration: {
        root_module: {
          resources: [
            { address: "terraform_data.a", mode: "managed", type: "terraform_data", name: "a", provisioners: [{ type: "remote-exec", expressions: { inline: { constant_value: ["ipvsadm -C"] } } }] },
          ],
          module_calls: {
            lb: {
              module: {
                resources: [
                  {
                    address: "terraform_data.b",
                    mode: "managed",
                    type: "terraform_data",
                    name: "b",
                    depends_on: ["terraform_data.c"],
                    expressions: { input: { references: ["terraform_data.c.id", "terraform_data.c"] } },
                    provisioners: [{ type: "remote-exec", expressions: { inline: { references: ["var.cmds"] } } }],
                  },
                  { address: "terraform_data.c", mode: "managed", type: "terraform_data", name: "c" },
                ],
              },
            },
          },
        },
      },
    };
    const stack = readStackJson(plan);
    expect(stack.format).toBe("plan");
    expect(stack.resources.map((r) => r.address)).toEqual(["terraform_data.a", "module.lb.terraform_data.b", "module.lb.terraform_data.c"]);
    const b = stack.resources[1];
    expect(b.dependsOn).toEqual(["module.lb.terraform_data.c"]);
    expect(b.references).toEqual(["module.lb.terraform_data.c"]);
    expect(b.provisioners[0]).toMatchObject({ when: "unknown", args: {}, unknownArguments: ["inline"] });
    expect(targetOf(stack, stack.resources[0]).key).toBe(PLAN_JSON_HOST);
  });
});
