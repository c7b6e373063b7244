import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStacks, StackStep, readTerraformConfiguration, resourceSteps, StackCommand, stripPrefixes } from "../../lib/stack";
import { parseShell } from "../../lib/words";

/** A stack of one null_resource on 172.16.1.8 with these provisioners. */
function oneResource(provisioner: object[], extra: object = {}) {
  const stack = readTerraformConfiguration({
    resource: { null_resource: { lb: { triggers: { host: "172.16.1.8" }, connection: { host: "${self.triggers.host}" }, provisioner, ...extra } } },
  });
  return resourceSteps(stack, stack.resources[0]).steps;
}

const commands = (steps: readonly StackStep[]) => steps.filter((s): s is StackCommand => s.kind === "command");
const wordsOf = (c: StackCommand) => c.words.map((w) => w.text).join(" ");

describe("remote-exec inline", () => {
  test("the seed's commands come out in order, one per line, each with its origin", () => {
    const steps = oneResource([
      {
        "remote-exec": {
          inline: [
            "ipvsadm -A -t 172.16.1.8:1000 -s rr",
            "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
            "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m",
            "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
          ],
        },
      },
    ]);
    expect(commands(steps).map((c) => [c.program, c.origin.source, c.origin.line, c.target.key])).toEqual([
      ["ipvsadm", { kind: "inline", index: 0 }, 1, "172.16.1.8:22"],
      ["ipvsadm", { kind: "inline", index: 1 }, 1, "172.16.1.8:22"],
      ["ipvsadm", { kind: "inline", index: 2 }, 1, "172.16.1.8:22"],
      ["iptables", { kind: "inline", index: 3 }, 1, "172.16.1.8:22"],
    ]);
    expect(commands(steps)[0].origin).toEqual({
      resource: "null_resource.lb",
      provisioner: 0,
      provisionerType: "remote-exec",
      when: "create",
      source: { kind: "inline", index: 0 },
      line: 1,
      nestedIn: [],
    });
  });

  test("one element may hold several commands; && ; and line continuations are read as sh reads them", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["modprobe ip_vs && sysctl -w net.ipv4.vs.conntrack=1; ipvsadm \\\n  -C"] } }]);
    expect(commands(steps).map((c) => [wordsOf(c), c.joinedBy ?? null])).toEqual([
      ["modprobe ip_vs", null],
      ["sysctl -w net.ipv4.vs.conntrack=1", "&&"],
      ["ipvsadm -C", ";"],
    ]);
  });

  test("a here-document may span inline elements (Terraform runs them as one script); lines map back to their element", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["cat <<EOF > /etc/sysctl.d/90-lb.conf", "net.ipv4.vs.conntrack = 1", "EOF", "sysctl -p /etc/sysctl.d/90-lb.conf"] } }]);
    const [cat, sysctl] = commands(steps);
    expect(cat.redirects[0].heredoc).toBe("net.ipv4.vs.conntrack = 1\n");
    expect(cat.origin.source).toEqual({ kind: "inline", index: 0 });
    expect([sysctl.origin.source, sysctl.origin.line]).toEqual([{ kind: "inline", index: 3 }, 1]);
    expect(sysctl.argumentFiles).toEqual({ "/etc/sysctl.d/90-lb.conf": "net.ipv4.vs.conntrack = 1\n" });
  });

  test("known ${self.…} values are filled in; other interpolations make the word dynamic; $${ is a literal ${", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["ipvsadm -A -t ${self.triggers.host}:1000 -s rr --generation '${self.id}' x=$${HOME}"] } }]);
    expect(commands(steps)[0].words.map((w) => [w.text, w.dynamic])).toEqual([
      ["ipvsadm", false],
      ["-A", false],
      ["-t", false],
      ["172.16.1.8:1000", false],
      ["-s", false],
      ["rr", false],
      ["--generation", false],
      ["${self.id}", true],
      ["x=${HOME}", true],
    ]);
  });
});

describe("prefixes", () => {
  const strip = (line: string) => {
    const r = stripPrefixes(parseShell(line).commands[0].words);
    return { words: r.words.map((w) => w.text), prefixes: r.prefixes, sudo: r.sudo };
  };

  test("sudo with its options, env with assignments, plain assignments and exec are stripped and remembered", () => {
    expect(strip("sudo -n -u root sysctl -w net.ipv4.vs.conntrack=1")).toEqual({ words: ["sysctl", "-w", "net.ipv4.vs.conntrack=1"], prefixes: ["sudo", "-n", "-u", "root"], sudo: true });
    expect(strip("sudo env LC_ALL=C X=1 ipvsadm -C")).toEqual({ words: ["ipvsadm", "-C"], prefixes: ["sudo", "env", "LC_ALL=C", "X=1"], sudo: true });
    expect(strip("A=1 exec /usr/sbin/ipvsadm -C")).toEqual({ words: ["/usr/sbin/ipvsadm", "-C"], prefixes: ["A=1", "exec"], sudo: false });
    expect(strip("if ! ipvsadm -Ln")).toEqual({ words: ["ipvsadm", "-Ln"], prefixes: ["if", "!"], sudo: false });
    expect(strip("command -v ipvsadm")).toEqual({ words: ["command", "-v", "ipvsadm"], prefixes: [], sudo: false });
    expect(strip("command ipvsadm -C")).toEqual({ words: ["ipvsadm", "-C"], prefixes: ["command"], sudo: false });
  });

  test("the program is named without its directory", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["sudo /usr/sbin/ipvsadm -C", "fi"] } }]);
    expect(commands(steps).map((c) => [c.program, c.sudo])).toEqual([["ipvsadm", true]]);
  });
});

describe("nested shells and scripts", () => {
  test("sh -c '...' and sudo bash -ec \"...\" are parsed recursively, outermost origin kept", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["true", `sudo sh -c 'echo 1 > /proc/sys/net/ipv4/vs/conntrack; modprobe ip_vs'`, `bash -ec "ipvsadm -C"`] } }]);
    expect(commands(steps).map((c) => [c.program, c.origin.source, c.origin.nestedIn])).toEqual([
      ["true", { kind: "inline", index: 0 }, []],
      ["sh", { kind: "inline", index: 1 }, []],
      ["echo", { kind: "inline", index: 1 }, [{ kind: "sh -c", line: 1 }]],
      ["modprobe", { kind: "inline", index: 1 }, [{ kind: "sh -c", line: 1 }]],
      ["bash", { kind: "inline", index: 2 }, []],
      ["ipvsadm", { kind: "inline", index: 2 }, [{ kind: "sh -c", line: 1 }]],
    ]);
  });

  test("a file provisioner's content is read as a script when a later command runs it", () => {
    const steps = oneResource([
      { file: { content: "#!/bin/sh\nset -eu\nipvsadm -A -t 172.16.1.8:1000 -s rr\n", destination: "/tmp/lb.sh" } },
      { "remote-exec": { inline: ["chmod +x /tmp/lb.sh && sudo /tmp/lb.sh", "bash /tmp/lb.sh", "sh /tmp/other.sh"] } },
    ]);
    expect(steps[0]).toMatchObject({ kind: "upload", destination: "/tmp/lb.sh", origin: { source: { kind: "file-provisioner" }, provisioner: 0 } });
    expect(commands(steps).map((c) => [c.program, c.runsScript ?? null, c.origin.line, c.origin.nestedIn.map((n) => n.file ?? n.kind)])).toEqual([
      ["chmod", null, 1, []],
      ["lb.sh", "/tmp/lb.sh", 1, []],
      ["set", null, 2, ["/tmp/lb.sh"]],
      ["ipvsadm", null, 3, ["/tmp/lb.sh"]],
      ["bash", "/tmp/lb.sh", 1, []],
      ["set", null, 2, ["/tmp/lb.sh"]],
      ["ipvsadm", null, 3, ["/tmp/lb.sh"]],
      ["sh", "/tmp/other.sh", 1, []],
    ]);
  });

  test("a script written by a here-document is followed too, and ipvsadm -R < FILE gets the file as stdin", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["cat > /tmp/rules <<'EOF'\n-A -t 172.16.1.8:1000 -s rr\nEOF\nipvsadm -R < /tmp/rules"] } }]);
    expect(commands(steps)[1].stdin).toEqual({ text: "-A -t 172.16.1.8:1000 -s rr\n", dynamic: false });
  });

  test("a pipe from echo or printf is the next command's stdin", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["echo 1 | sudo tee /proc/sys/net/ipv4/vs/conntrack", "printf 'ip_vs\\nip_vs_rr\\n' | tee /etc/modules-load.d/ipvs.conf"] } }]);
    expect(commands(steps).map((c) => c.stdin?.text ?? null)).toEqual([null, "1\n", null, "ip_vs\nip_vs_rr\n"]);
  });
});

describe("script files next to the stack", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-scripts-"));
  fs.writeFileSync(path.join(dir, "lb.sh"), "#!/bin/sh\nipvsadm -A -t 172.16.1.8:1000 -s rr\nsysctl -w net.ipv4.vs.conntrack=1\n");
  fs.writeFileSync(path.join(dir, "nat.sh"), "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000\n");
  fs.writeFileSync(
    path.join(dir, "cdk.tf.json"),
    JSON.stringify({
      resource: {
        null_resource: {
          lb: {
            connection: { host: "172.16.1.8" },
            provisioner: [
              { "remote-exec": { script: "lb.sh" } },
              { "remote-exec": { scripts: ["${path.module}/nat.sh", "missing.sh"] } },
              { "remote-exec": { inline: ['${file("nat.sh")}', "ipvsadm -C"] } },
              { file: { source: "lb.sh", destination: "/tmp/lb.sh" } },
              { "remote-exec": { inline: ["sh /tmp/lb.sh"] } },
            ],
          },
        },
      },
    }),
  );
  const [stack] = loadStacks(dir);
  const steps = resourceSteps(stack, stack.resources[0]).steps;

  test("script and scripts are read relative to the stack directory; a missing one is a note", () => {
    expect(steps.filter((s) => s.origin.provisioner <= 1).map((s) => (s.kind === "command" ? [s.program, s.origin.source, s.origin.line] : [s.kind, s.kind === "note" ? s.message : ""]))).toEqual([
      ["ipvsadm", { kind: "script", file: "lb.sh" }, 2],
      ["sysctl", { kind: "script", file: "lb.sh" }, 3],
      ["iptables", { kind: "script", file: "${path.module}/nat.sh" }, 1],
      ["note", `missing.sh: not found next to the stack (${path.join(dir, "missing.sh")})`],
    ]);
  });

  test('inline ${file("x.sh")} is the file\'s text; a file provisioner source is read and followed when run', () => {
    expect(commands(steps.filter((s) => s.origin.provisioner === 2)).map((c) => [c.program, c.origin.source, c.origin.line])).toEqual([
      ["iptables", { kind: "inline", index: 0, file: "nat.sh" }, 1],
      ["ipvsadm", { kind: "inline", index: 1 }, 1],
    ]);
    expect(steps.filter((s) => s.origin.provisioner >= 3).map((s) => (s.kind === "command" ? s.program : s.kind))).toEqual(["upload", "sh", "ipvsadm", "sysctl"]);
  });
});

describe("what is not analyzed is said so", () => {
  test("local-exec running ssh, a file provisioner without a known content", () => {
    const steps = oneResource([{ "local-exec": { command: "ssh root@lb 'sysctl -w net.ipv4.vs.conntrack=1'" } }, { "local-exec": { command: "echo done" } }, { file: { source: "${path.module}/${var.x}", destination: "/tmp/x" } }]);
    expect(steps.map((s) => [s.kind, s.kind === "note" ? s.message : "", s.target.key])).toEqual([
      ["note", "local-exec runs ssh; commands sent over it are not analyzed", "(local machine running terraform)"],
      ["note", "${path.module}/${var.x}: path is computed by Terraform; not read", "172.16.1.8:22"],
      ["upload", "", "172.16.1.8:22"],
    ]);
  });

  test("an unterminated quote is a note and the rest is still read", () => {
    const steps = oneResource([{ "remote-exec": { inline: ["ipvsadm -C", "echo 'oops"] } }]);
    expect(steps.map((s) => (s.kind === "note" ? s.message : s.kind))).toEqual(["shell: line 2: unterminated '", "command", "command"]);
  });
});
