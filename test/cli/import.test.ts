/**
 * `cdktf-ipvs import`: offline from the four saved outputs, and over SSH through the drift runner
 * (a fake here; the script it sends is run with real sh against fake ipvsadm/iptables-save/sysctl
 * below, to show it only reads).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { IMPORT_SCRIPT, readImportOutput } from "../../lib/cli/import";
import { HostRunner, RunResult } from "../../lib/drift";
import { formatNote, importHost } from "../../lib/import";
import { IPVS_SAVE, NAT_V4, NAT_V6, THRESHOLDS, sysctlDump } from "../import/dumps";

const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-import-cli-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function cli(args: string[], answer?: RunResult) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: { script: string; args?: readonly string[]; target: unknown }[] = [];
  const code = runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) }, {
    runner: (target): HostRunner => ({
      run: (script, a) => {
        calls.push({ script, args: a, target });
        if (!answer) throw new Error("no SSH expected");
        return answer;
      },
    }),
  });
  return { code, out: out.join("\n"), err: err.join("\n"), calls };
}

/** The four dumps saved as files in a fresh folder. */
function saved(d: { ipvs?: string; thresholds?: string; nat?: string; sysctls?: string } = {}) {
  const dir = tmpDir();
  const files = { ipvs: "ipvs.txt", thresholds: "thresholds.txt", nat: "nat.txt", sysctls: "sysctl.txt" } as const;
  const text = { ipvs: IPVS_SAVE, thresholds: THRESHOLDS, nat: NAT_V4 + NAT_V6, sysctls: sysctlDump(), ...d };
  for (const [k, f] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text[k as keyof typeof files]);
  const args = Object.entries(files).flatMap(([k, f]) => [`--${k}`, path.join(dir, f)]);
  return { dir, args, out: path.join(dir, "spec.json"), ts: path.join(dir, "lb.ts") };
}

describe("offline, from saved outputs", () => {
  test("writes the spec; notes on stderr with the file and line; exit 1 when something was left out", () => {
    const s = saved();
    const r = cli(["import", ...s.args, "--out", s.out]);
    expect(r.code).toBe(1);
    const spec = JSON.parse(fs.readFileSync(s.out, "utf8"));
    const expected = importHost({ hostName: "lb1", ipvs: IPVS_SAVE, thresholds: THRESHOLDS, nat: NAT_V4 + NAT_V6, sysctls: sysctlDump() });
    expect(spec).toEqual({ hosts: [expected.spec] });
    const nat = path.join(s.dir, "nat.txt");
    expect(r.out.split("\n")).toEqual([
      `imported lb1: 7 virtual service(s) (adopt), 6 real server(s), 3 alias(es), 4 sysctl(s); wrote ${s.out}`,
      "4 hand-made rule(s) will match nothing once the first apply has run (its own chains come first); remove them then, while the aliases keep answering:",
      `  iptables -w -t nat -D PREROUTING -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -j REDIRECT --to-ports 1000    # ${nat}:9`,
      `  iptables -w -t nat -D OUTPUT -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -j DNAT --to-destination 172.16.1.8:1000    # ${nat}:14`,
      `  iptables -w -t nat -D LB-ALIASES -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment 'app alias' -j DNAT --to-destination 172.16.1.8:1000    # ${nat}:15`,
      `  ip6tables -w -t nat -D PREROUTING -d fd00:16::8/128 -p tcp -m tcp --dport 1010 -j DNAT --to-destination '[fd00:16::8]:1000'    # ${nat}:28`,
    ]);
    const notes = r.err.split("\n");
    expect(notes).toHaveLength(expected.notes.length + 1);
    expect(notes[0]).toBe(formatNote({ ...expected.notes[0], where: expected.notes[0].where.replace(/^nat:/, `${path.join(s.dir, "nat.txt")}:`) }));
    expect(notes[notes.length - 1]).toBe("4 note(s): review them before the first apply");
    // The written spec is one the other commands take.
    expect(cli(["plan", "--spec", s.out]).code).toBe(0);
  });

  test("exit 0 and nothing on stderr when everything was imported; --ts writes the TypeScript too", () => {
    const s = saved({ nat: NAT_V6 });
    const r = cli(["import", ...s.args, "--out", s.out, "--ts", s.ts, "--host", "edge-1"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(s.out, "utf8")).hosts[0].name).toBe("edge-1");
    const ts = fs.readFileSync(s.ts, "utf8");
    expect(ts.split("\n")[0]).toBe("// Imported by cdktf-ipvs import from saved outputs.");
    expect(ts).toContain('export function addEdge1(scope: Construct, props: IpvsHostProps): IpvsHost {');
    expect(ts).toContain('s4.addAlias({ port: 1010, method: "dnat" });');
  });

  test("usage errors (exit 2, nothing written): no source, some files only, --ssh with files, no --out", () => {
    const s = saved();
    const cases: [string[], string][] = [
      [["import", "--out", s.out], "cdktf-ipvs: give --ssh [user@]host[:port], or the four saved outputs --ipvs, --thresholds, --nat and --sysctls"],
      [["import", "--ipvs", "a", "--nat", "b", "--out", s.out], "cdktf-ipvs: --thresholds and --sysctls are needed too: the import reads all four outputs"],
      [["import", "--ssh", "root@192.0.2.1", "--ipvs", "a", "--out", s.out], "cdktf-ipvs: --ssh reads the host itself; leave out --ipvs"],
      [["import", ...s.args], "cdktf-ipvs: --out is required"],
      [["import", ...s.args, "--out", s.out, "--identity", "k"], "cdktf-ipvs: --identity goes with --ssh"],
    ];
    for (const [args, first] of cases) {
      const r = cli(args);
      expect([r.code, r.err.split("\n")[0]]).toEqual([2, first]);
      expect(r.err).toContain("usage: cdktf-ipvs import --ssh [user@]host[:port] --out SPEC.json");
    }
    expect(fs.existsSync(s.out)).toBe(false);
  });

  test("input errors (exit 2, nothing written): a file swapped for another, an unreadable file, no host name", () => {
    const s = saved();
    const swapped = s.args.map((a) => (a.endsWith("ipvs.txt") ? a.replace("ipvs.txt", "thresholds.txt") : a));
    const r1 = cli(["import", ...swapped, "--out", s.out]);
    expect([r1.code, r1.err]).toEqual([2, `${path.join(s.dir, "thresholds.txt")}:1: is not a line of ipvsadm -Sn (-A ... or -a ...): IP Virtual Server version 1.2.1 (size=4096)`]);
    const noThresholds = saved({ thresholds: IPVS_SAVE });
    const r2 = cli(["import", ...noThresholds.args, "--out", noThresholds.out]);
    expect([r2.code, r2.err]).toEqual([2, `${path.join(noThresholds.dir, "thresholds.txt")}: is not the output of ipvsadm -Ln --thresholds (no Uthreshold Lthreshold header), and the real servers' thresholds are needed`]);
    const missing = s.args.map((a) => (a.endsWith("nat.txt") ? `${a}.gone` : a));
    const r3 = cli(["import", ...missing, "--out", s.out]);
    expect([r3.code, r3.err]).toEqual([2, `cannot read --nat ${path.join(s.dir, "nat.txt.gone")}: ENOENT`]);
    const nameless = saved({ sysctls: sysctlDump({ "kernel.hostname": "not a name" }) });
    const r4 = cli(["import", ...nameless.args, "--out", nameless.out]);
    expect([r4.code, r4.err]).toEqual([2, "cannot tell the host's name (no usable kernel.hostname in sysctl -a); give --host NAME"]);
    expect([s.out, noThresholds.out, nameless.out].filter((f) => fs.existsSync(f))).toEqual([]);
  });

  test("--help names the sources and the exit codes", () => {
    const r = cli(["import", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("--ipvs <FILE>");
    expect(r.out).toContain("--out <SPEC.json>");
    expect(r.out.replace(/\s+/g, " ")).toContain("--out <SPEC.json> write the spec ({ hosts: [ host ] }, schema/spec.schema.json) to this file (required)");
    expect(r.out).toMatch(/1 {2}imported with notes/);
  });
});

/** What the import script prints on the lab guest's table (markers and dumps as the script writes them). */
function scriptOutput(): string {
  return ["@@cdktf-ipvs-import ipvs", IPVS_SAVE.trimEnd(), "@@cdktf-ipvs-import thresholds", THRESHOLDS.trimEnd(), "@@cdktf-ipvs-import nat", NAT_V4.trimEnd(), NAT_V6.trimEnd(), "@@cdktf-ipvs-import sysctls", sysctlDump().trimEnd(), "@@cdktf-ipvs-import end", ""].join("\n");
}

describe("over SSH", () => {
  test("one read-only script through the runner; the result is the same as from the saved outputs", () => {
    const s = saved();
    const r = cli(["import", "--ssh", "admin@192.0.2.10:2222", "--identity", "/k", "--out", s.out], { code: 0, stdout: scriptOutput(), stderr: "" });
    expect(r.calls).toEqual([{ script: IMPORT_SCRIPT, args: undefined, target: { user: "admin", host: "192.0.2.10", port: 2222, identityFile: "/k" } }]);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")[0]).toMatch(/^not imported: iptables-save -t nat:12: -A PREROUTING -s 10\.0\.0\.0\/8/);
    const offline = saved();
    cli(["import", ...offline.args, "--out", offline.out]);
    expect(fs.readFileSync(s.out, "utf8")).toBe(fs.readFileSync(offline.out, "utf8"));
  });

  test("a host that cannot be read: exit 2 with what it said, nothing written", () => {
    const s = saved();
    const refused = cli(["import", "--ssh", "192.0.2.10", "--out", s.out], { code: 255, stdout: "", stderr: "ssh: connect to host 192.0.2.10 port 22: Connection refused\n" });
    expect([refused.code, refused.err]).toEqual([2, "the host could not be read (exit 255): ssh: connect to host 192.0.2.10 port 22: Connection refused"]);
    const failed = cli(["import", "--ssh", "192.0.2.10", "--out", s.out], { code: 1, stdout: "@@cdktf-ipvs-import ipvs\n@@cdktf-ipvs-import fail ipvsadm -Sn failed\n", stderr: "Can't initialize ipvs: Permission denied\n" });
    expect([failed.code, failed.err]).toEqual([2, "the host could not be read: ipvsadm -Sn failed (Can't initialize ipvs: Permission denied)"]);
    expect(fs.existsSync(s.out)).toBe(false);
  });

  describe("the script itself, with real sh and fake commands", () => {
    function runImportScript(ipvsLoaded: boolean) {
      const root = tmpDir();
      const bin = path.join(root, "bin");
      fs.mkdirSync(bin);
      if (ipvsLoaded) fs.mkdirSync(path.join(root, "sys/module/ip_vs"), { recursive: true });
      const data = path.join(root, "data");
      fs.mkdirSync(data);
      fs.writeFileSync(path.join(data, "ipvs"), IPVS_SAVE);
      fs.writeFileSync(path.join(data, "thresholds"), THRESHOLDS);
      fs.writeFileSync(path.join(data, "nat4"), NAT_V4);
      fs.writeFileSync(path.join(data, "nat6"), NAT_V6);
      fs.writeFileSync(path.join(data, "sysctls"), sysctlDump());
      const fake = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >>"${root}/calls"\n${body}\n`, { mode: 0o755 });
      fake("ipvsadm", `case "$*" in -Sn) cat "${data}/ipvs" ;; "-Ln --thresholds") cat "${data}/thresholds" ;; *) exit 99 ;; esac`);
      fake("iptables-save", `[ "$*" = "-t nat" ] || exit 99; cat "${data}/nat4"`);
      fake("ip6tables-save", `[ "$*" = "-t nat" ] || exit 99; cat "${data}/nat6"`);
      fake("sysctl", `[ "$*" = "-a" ] || exit 99; cat "${data}/sysctls"; echo "sysctl: permission denied on key 'fs.protected_regular'" >&2; exit 255`);
      const script = IMPORT_SCRIPT.replace(/^PATH=.*$/m, `PATH="${bin}:$PATH"`).replace("/sys/module/ip_vs", `${root}/sys/module/ip_vs`);
      expect(script).not.toBe(IMPORT_SCRIPT);
      const r = spawnSync("sh", ["-s"], { input: script, encoding: "utf8" });
      const calls = fs.existsSync(path.join(root, "calls")) ? fs.readFileSync(path.join(root, "calls"), "utf8").trim().split("\n") : [];
      return { r, calls };
    }

    test("with ip_vs loaded it reads the four outputs, nothing else, and they come back whole", () => {
      const { r, calls } = runImportScript(true);
      expect(calls).toEqual(["ipvsadm -Sn", "ipvsadm -Ln --thresholds", "iptables-save -t nat", "ip6tables-save -t nat", "sysctl -a"]);
      const dumps = readImportOutput(r.stdout, r.status ?? -1, r.stderr);
      expect(dumps).toEqual({ ipvs: IPVS_SAVE, thresholds: THRESHOLDS, nat: NAT_V4 + NAT_V6, sysctls: sysctlDump() });
    });

    test("without ip_vs loaded it never calls ipvsadm (which would load it)", () => {
      const { r, calls } = runImportScript(false);
      expect(calls).toEqual(["iptables-save -t nat", "ip6tables-save -t nat", "sysctl -a"]);
      expect(readImportOutput(r.stdout, r.status ?? -1, r.stderr)).toMatchObject({ ipvs: "", thresholds: "" });
    });
  });
});
