import { Testing } from "cdktf";
import { buildStackModel, HostEvent, HostModel, readTerraformConfiguration, StackModel } from "../../lib/stack";
import { SeedStack } from "../../main";

const SEED_INLINE = [
  "ipvsadm -A -t 172.16.1.8:1000 -s rr",
  "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
  "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m",
  "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
];

function model(json: object): StackModel {
  return buildStackModel(readTerraformConfiguration(json));
}

function host(m: StackModel, key: string): HostModel {
  const found = m.hosts.find((h) => h.target.key === key);
  if (!found) throw new Error(`no host ${key}; hosts: ${m.hosts.map((h) => h.target.key).join(", ")}`);
  return found;
}

const find = (events: readonly HostEvent[], kind: string, resource?: string) => {
  const found = events.find((e) => e.event.kind === kind && (resource === undefined || e.resource === resource));
  if (!found) throw new Error(`no ${kind} event${resource ? ` in ${resource}` : ""}`);
  return found;
};

/** The seed's resource, plus conntrack set in three resources: one after it, one before it, one unordered. */
const seedWithConntrack = {
  resource: {
    null_resource: {
      modules: {
        connection: { host: "172.16.1.8" },
        provisioner: [{ "remote-exec": { inline: ["sudo modprobe ip_vs && sudo sysctl -w net.ipv4.vs.conntrack=1"] } }],
      },
      ipvs: {
        triggers: { after: "${null_resource.modules.id}" },
        connection: { host: "172.16.1.8" },
        provisioner: [{ "remote-exec": { inline: SEED_INLINE } }],
      },
      later: {
        depends_on: ["null_resource.ipvs"],
        connection: { host: "172.16.1.8" },
        provisioner: [{ "remote-exec": { inline: ["echo 1 > /proc/sys/net/ipv4/vs/conntrack"] } }],
      },
      elsewhere: {
        connection: { host: "172.16.1.8", port: 22 },
        provisioner: [{ "remote-exec": { inline: ["sysctl -w net.ipv4.vs.conntrack=1"] } }],
      },
    },
  },
};

describe("order of events on one host", () => {
  const m = model(seedWithConntrack);
  const lb = host(m, "172.16.1.8:22");
  const alias = find(lb.create, "nat");

  test("all four resources target the same host; events follow a run order", () => {
    expect(m.hosts.map((h) => h.target.key)).toEqual(["172.16.1.8:22"]);
    expect(lb.resources).toEqual(["null_resource.modules", "null_resource.ipvs", "null_resource.later", "null_resource.elsewhere"]);
    expect(lb.create.map((e) => [e.resource, e.event.kind])).toEqual([
      ["null_resource.modules", "modprobe"],
      ["null_resource.modules", "sysctl-set"],
      ["null_resource.ipvs", "ipvs"],
      ["null_resource.ipvs", "ipvs"],
      ["null_resource.ipvs", "ipvs"],
      ["null_resource.ipvs", "nat"],
      ["null_resource.later", "sysctl-set"],
      ["null_resource.elsewhere", "sysctl-set"],
    ]);
  });

  test("within a resource, line order", () => {
    expect(lb.order(find(lb.create, "ipvs"), alias)).toBe("before");
    expect(lb.order(alias, find(lb.create, "ipvs"))).toBe("after");
  });

  test("conntrack set in a resource the alias's resource references runs before it (trigger reference)", () => {
    expect(lb.order(find(lb.create, "sysctl-set", "null_resource.modules"), alias)).toBe("before");
  });

  test("conntrack set in a resource that depends on the alias's resource runs after it", () => {
    expect(lb.order(alias, find(lb.create, "sysctl-set", "null_resource.later"))).toBe("before");
    expect(lb.order(find(lb.create, "sysctl-set", "null_resource.later"), alias)).toBe("after");
  });

  test("conntrack set in a resource with no dependency path is unordered", () => {
    expect(lb.order(alias, find(lb.create, "sysctl-set", "null_resource.elsewhere"))).toBe("unordered");
  });

  test("dependsOn is transitive: later → ipvs → modules", () => {
    expect(m.dependsOn("null_resource.later", "null_resource.modules")).toBe(true);
    expect(m.dependsOn("null_resource.modules", "null_resource.later")).toBe(false);
    expect(m.dependsOn("null_resource.elsewhere", "null_resource.ipvs")).toBe(false);
  });
});

describe("hosts", () => {
  test("two hosts: conntrack set on the wrong one stays on that one", () => {
    const m = model({
      resource: {
        null_resource: {
          lb: { triggers: { host: "172.16.1.8" }, connection: { host: "${self.triggers.host}" }, provisioner: [{ "remote-exec": { inline: SEED_INLINE } }] },
          backend: {
            depends_on: ["null_resource.lb"],
            triggers: { host: "172.16.1.9" },
            connection: { host: "${self.triggers.host}" },
            provisioner: [{ "remote-exec": { inline: ["sudo sysctl -w net.ipv4.vs.conntrack=1"] } }],
          },
        },
      },
    });
    expect(m.hosts.map((h) => [h.target.key, h.create.map((e) => e.event.kind)])).toEqual([
      ["172.16.1.8:22", ["ipvs", "ipvs", "ipvs", "nat"]],
      ["172.16.1.9:22", ["sysctl-set"]],
    ]);
  });

  test("a terraform_data stack: hosts from triggers_replace and input; ports tell hosts apart", () => {
    const m = model({
      resource: {
        terraform_data: {
          a: { triggers_replace: { host: "127.0.0.1", port: "2222" }, connection: { host: "${self.triggers_replace.host}", port: "${self.triggers_replace.port}" }, provisioner: [{ "remote-exec": { inline: ["ipvsadm -C"] } }] },
          b: { input: { host: "127.0.0.1", port: 2223 }, connection: { host: "${self.input.host}", port: "${self.input.port}" }, provisioner: [{ "remote-exec": { inline: ["ipvsadm -C"] } }] },
          c: { connection: { host: "${aws_instance.lb.public_ip}" }, provisioner: [{ "remote-exec": { inline: ["ipvsadm -C"] } }] },
        },
      },
    });
    expect(m.hosts.map((h) => [h.target.key, h.target.resolved, h.resources])).toEqual([
      ["127.0.0.1:2222", true, ["terraform_data.a"]],
      ["127.0.0.1:2223", true, ["terraform_data.b"]],
      ["${aws_instance.lb.public_ip}:22", false, ["terraform_data.c"]],
    ]);
  });
});

describe("destroy-time provisioners", () => {
  const m = model({
    resource: {
      null_resource: {
        ipvs: { connection: { host: "lb" }, provisioner: [{ "remote-exec": { inline: ["ipvsadm -A -t 172.16.1.8:1000 -s rr"] } }, { "remote-exec": { when: "destroy", inline: ["ipvsadm -D -t 172.16.1.8:1000"] } }] },
        alias: {
          depends_on: ["null_resource.ipvs"],
          connection: { host: "lb" },
          provisioner: [
            { "remote-exec": { inline: ["iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000"] } },
            { "remote-exec": { when: "destroy", inline: ["iptables -t nat -D PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000"] } },
          ],
        },
      },
    },
  });
  const lb = host(m, "lb:22");

  test("are kept apart, dependents first", () => {
    expect(lb.create.map((e) => [e.resource, e.event.kind])).toEqual([
      ["null_resource.ipvs", "ipvs"],
      ["null_resource.alias", "nat"],
    ]);
    expect(lb.destroy.map((e) => [e.resource, e.event.kind, e.when])).toEqual([
      ["null_resource.alias", "nat", "destroy"],
      ["null_resource.ipvs", "ipvs", "destroy"],
    ]);
  });

  test("run in reverse dependency order, and are unordered against create-time events", () => {
    expect(lb.order(lb.destroy[0], lb.destroy[1])).toBe("before");
    expect(lb.order(lb.destroy[1], lb.destroy[0])).toBe("after");
    expect(lb.order(lb.create[0], lb.destroy[0])).toBe("unordered");
  });
});

describe("files across resources", () => {
  const m = model({
    resource: {
      null_resource: {
        upload: { connection: { host: "lb" }, provisioner: [{ file: { content: "sysctl -w net.ipv4.vs.conntrack=1\n", destination: "/tmp/ct.sh" } }] },
        after: { depends_on: ["null_resource.upload"], connection: { host: "lb" }, provisioner: [{ "remote-exec": { inline: ["sudo sh /tmp/ct.sh"] } }] },
        unordered: { connection: { host: "lb" }, provisioner: [{ "remote-exec": { inline: ["sudo sh /tmp/ct.sh"] } }] },
        otherHost: { depends_on: ["null_resource.upload"], connection: { host: "lb2" }, provisioner: [{ "remote-exec": { inline: ["sudo sh /tmp/ct.sh"] } }] },
      },
    },
  });

  test("a script uploaded by a resource is read when a resource depending on it runs it, on the same host only", () => {
    expect(host(m, "lb:22").create.map((e) => [e.resource, e.event.kind])).toEqual([
      ["null_resource.upload", "file-write"],
      ["null_resource.after", "sysctl-set"],
    ]);
    expect(host(m, "lb2:22").create).toEqual([]);
    expect(host(m, "lb2:22").steps.map((s) => s.kind === "command" && s.runsScript)).toEqual(["/tmp/ct.sh"]);
  });

  test("a heredoc-written sysctl.d file followed by sysctl -p, in order", () => {
    const lb = host(
      model({
        resource: {
          null_resource: {
            persist: { connection: { host: "lb" }, provisioner: [{ "remote-exec": { inline: ["sudo tee /etc/sysctl.d/90-ipvs.conf <<EOF\nnet.ipv4.vs.conntrack = 1\nEOF", "sudo sysctl -p /etc/sysctl.d/90-ipvs.conf"] } }] },
          },
        },
      }),
      "lb:22",
    );
    const [write, load] = lb.create;
    expect(write.event).toMatchObject({ kind: "file-write", path: "/etc/sysctl.d/90-ipvs.conf", via: "tee", sysctlEntries: [{ key: "net.ipv4.vs.conntrack", value: "1" }] });
    expect(load.event).toMatchObject({ kind: "sysctl-load", entries: [{ key: "net.ipv4.vs.conntrack", value: "1", file: "/etc/sysctl.d/90-ipvs.conf" }] });
    expect(lb.order(write, load)).toBe("before");
  });

  test("a dependency cycle is a problem, not a hang", () => {
    const m2 = model({ resource: { null_resource: { a: { depends_on: ["null_resource.b"] }, b: { depends_on: ["null_resource.a"] } } } });
    expect(m2.problems.length).toBeGreaterThan(0);
    expect(m2.problems[0]).toMatch(/^dependency cycle through null_resource\.[ab]$/);
  });
});

describe("cdktf-ipvs's own synthesized stack", () => {
  for (const engine of ["null_resource", "terraform_data"]) {
    test(`(${engine}) every provisioning resource targets the seed host, in the order of its steps`, () => {
      const json = JSON.parse(Testing.synth(new SeedStack(Testing.app(), "seed", { IPVS_ENGINE: engine })));
      const m = model(json);
      expect(m.problems).toEqual([]);
      expect(m.hosts.map((h) => h.target)).toEqual([{ key: "172.16.1.8:22", host: "172.16.1.8", port: "22", resolved: true }]);
      const [lb] = m.hosts;
      const provisioning = Object.entries(json.resource[engine] as Record<string, { provisioner?: unknown[] }>)
        .filter(([, r]) => (r.provisioner ?? []).length > 0)
        .map(([name]) => `${engine}.${name}`);
      expect([...lb.resources].sort()).toEqual(provisioning.sort());
      // Our steps are chained by depends_on: modules, sysctls, ipvs, aliases each after the one before.
      const stepNamed = (step: string) => lb.resources.find((r) => r.includes(`lb1_${step}_`))!;
      const chain = ["modules", "sysctls", "ipvs", "aliases"].map(stepNamed);
      for (let i = 1; i < chain.length; i++) expect(m.dependsOn(chain[i], chain[i - 1])).toBe(true);
      expect(lb.resources.indexOf(chain[0])).toBeLessThan(lb.resources.indexOf(chain[3]));
    });
  }
});
