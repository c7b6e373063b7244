import { buildDesiredHost } from "../../lib/model";
import { DriftCheckError, HostRunner, RunResult, checkDrift, parseSshTarget } from "../../lib/drift";
import { runCli } from "../../lib/cli";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { seedHost } from "../fixtures";

/** A runner that records the script and answers like verify.sh would. */
class FakeHost implements HostRunner {
  scripts: string[] = [];
  constructor(private readonly answer: RunResult) {}
  run(script: string): RunResult {
    this.scripts.push(script);
    return this.answer;
  }
}

const host = buildDesiredHost(seedHost());

describe("checkDrift", () => {
  test("runs the verify.sh rendered from the same model", () => {
    const fake = new FakeHost({ code: 0, stdout: "cdktf-ipvs lb1 [verify] OK: host matches the desired state\n", stderr: "" });
    expect(checkDrift(host, fake)).toEqual({ host: "lb1", inSync: true, differences: [] });
    expect(fake.scripts[0]).toContain("# cdktf-ipvs verify.sh for host lb1");
    expect(fake.scripts[0]).toContain("-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1");
  });

  test("reports each DRIFT line", () => {
    const stdout = [
      "cdktf-ipvs lb1 [verify] DRIFT: net.ipv4.vs.conntrack is 0 but aliases exist: replies to aliased ports leave from the service port and clients reset them (want 1)",
      "cdktf-ipvs lb1 [verify] DRIFT: iptables nat CDKTF-IPVS-PRE: alias rule missing: -d 172.16.1.8/32 -p tcp -m tcp --dport 1020",
      "cdktf-ipvs lb1 [verify] 2 difference(s) from the desired state",
    ].join("\n");
    const report = checkDrift(host, new FakeHost({ code: 1, stdout, stderr: "" }));
    expect(report.inSync).toBe(false);
    expect(report.differences).toHaveLength(2);
    expect(report.differences[0]).toMatch(/^net.ipv4.vs.conntrack is 0 but aliases exist/);
  });

  test("a host where verify.sh cannot run is an error, not 'in sync'", () => {
    expect(() => checkDrift(host, new FakeHost({ code: 255, stdout: "", stderr: "ssh: connect to host 127.0.0.1 port 1: Connection refused" }))).toThrow(DriftCheckError);
    expect(() => checkDrift(host, new FakeHost({ code: 1, stdout: "", stderr: "cdktf-ipvs lb1 [verify] ERROR: must run as root" }))).toThrow(/must run as root/);
  });
});

describe("parseSshTarget", () => {
  test.each([
    ["127.0.0.1:2222", { user: "root", host: "127.0.0.1", port: 2222 }],
    ["admin@lb1.example", { user: "admin", host: "lb1.example", port: 22 }],
    ["root@[fd00::8]:22", { user: "root", host: "fd00::8", port: 22 }],
  ])("%s", (text, want) => {
    expect(parseSshTarget(text)).toEqual(want);
  });
  test("rejects anything else", () => {
    expect(() => parseSshTarget("root@host;reboot")).toThrow(/is not \[user@\]host\[:port\]/);
  });
});

describe("cdktf-ipvs drift", () => {
  const spec = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-drift-")), "spec.json");
  fs.writeFileSync(spec, JSON.stringify({ hosts: [seedHost()] }));
  const cli = (answer: RunResult) => {
    const out: string[] = [];
    const err: string[] = [];
    const targets: unknown[] = [];
    const code = runCli(["drift", "--spec", spec, "--host", "lb1", "--ssh", "root@127.0.0.1:2222", "--identity", "/k"], { out: (t) => out.push(t), err: (t) => err.push(t) }, {
      runner: (t) => {
        targets.push(t);
        return new FakeHost(answer);
      },
    });
    return { code, out: out.join("\n"), err: err.join("\n"), targets };
  };

  test("exit 0 and says so when in sync; connects where told", () => {
    const r = cli({ code: 0, stdout: "", stderr: "" });
    expect(r.code).toBe(0);
    expect(r.out).toBe("lb1: in sync with the desired state");
    expect(r.targets).toEqual([{ user: "root", host: "127.0.0.1", port: 2222, identityFile: "/k", noHostKeyCheck: false }]);
  });

  test("exit 1 with the differences on drift", () => {
    const r = cli({ code: 1, stdout: "cdktf-ipvs lb1 [verify] DRIFT: kernel module ip_vs_rr is not loaded\n", stderr: "" });
    expect(r.code).toBe(1);
    expect(r.err).toContain("lb1: 1 difference(s) from the desired state:\n  - kernel module ip_vs_rr is not loaded");
  });

  test("exit 2 when the host could not be checked", () => {
    expect(cli({ code: 255, stdout: "", stderr: "Connection refused" }).code).toBe(2);
  });
});
