import { buildDesiredHost } from "../../lib/model";
import { DriftCheckError, HostRunner, PreviewCheckError, RunResult, SshRunner, checkDrift, parseSshTarget, previewHost } from "../../lib/drift";
import { runCli } from "../../lib/cli";
import { planHost } from "../../lib/plan";
import { renderHost } from "../../lib/render";
import { PREVIEW_CHANGE_TEXT, PREVIEW_DONE_TEXT, PREVIEW_PENDING_EXIT, VERIFY_OK_TEXT } from "../../lib/render/scripts";
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
    const r = cli({ code: 0, stdout: "cdktf-ipvs lb1 [verify] OK: host matches the desired state\n", stderr: "" });
    expect(r.code).toBe(0);
    expect(r.out).toBe("lb1: in sync with the desired state");
    expect(r.targets).toEqual([{ user: "root", host: "127.0.0.1", port: 2222, identityFile: "/k" }]);
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

describe("drift says 'in sync' only when verify.sh said so", () => {
  const OK = `cdktf-ipvs lb1 [verify] ${VERIFY_OK_TEXT}`;
  const spec = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-drift-")), "spec.json");
  fs.writeFileSync(spec, JSON.stringify({ hosts: [seedHost()] }));
  const cli = (answer: RunResult | (() => RunResult), args: string[] = ["--host", "lb1"]) => {
    const out: string[] = [];
    const err: string[] = [];
    const runner: HostRunner = { run: () => (typeof answer === "function" ? answer() : answer) };
    const code = runCli(["drift", "--spec", spec, ...args, "--ssh", "root@127.0.0.1:2222"], { out: (t) => out.push(t), err: (t) => err.push(t) }, { runner: () => runner });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };

  test("the success line drift looks for is the one verify.sh prints", () => {
    expect(VERIFY_OK_TEXT).toBe("OK: host matches the desired state");
    const verify = renderHost(planHost(host)).scripts["verify.sh"];
    expect(verify).toContain(`  log "${VERIFY_OK_TEXT}"\n`);
  });

  test("exit 0 with verify.sh's OK line (after a banner) is in sync", () => {
    const stdout = `Welcome to lb1\nAuthorized use only\n${OK}\n`;
    expect(checkDrift(host, new FakeHost({ code: 0, stdout, stderr: "" }))).toEqual({ host: "lb1", inSync: true, differences: [] });
  });

  test.each([
    ["an empty answer", { code: 0, stdout: "", stderr: "" }],
    ["an SSH answer that is only a banner", { code: 0, stdout: "Welcome to Ubuntu 24.04 LTS\n\n * Documentation: https://help.ubuntu.com\n", stderr: "" }],
    ["a shell that swallowed the script", { code: 0, stdout: "This account is currently not available.\n", stderr: "" }],
    ["the OK line of another host", { code: 0, stdout: "cdktf-ipvs lb2 [verify] OK: host matches the desired state\n", stderr: "" }],
    ["the OK line quoted inside another line", { code: 0, stdout: `echo '${OK}'\n`, stderr: "" }],
    ["exit 0 with DRIFT lines", { code: 0, stdout: `cdktf-ipvs lb1 [verify] DRIFT: kernel module ip_vs is not loaded\n${OK}\n`, stderr: "" }],
    ["exit 1 with DRIFT lines and the OK line", { code: 1, stdout: `cdktf-ipvs lb1 [verify] DRIFT: x\n${OK}\n`, stderr: "" }],
    ["exit 1 without DRIFT lines", { code: 1, stdout: "", stderr: "" }],
    ["exit 2 with DRIFT lines", { code: 2, stdout: "cdktf-ipvs lb1 [verify] DRIFT: x\n", stderr: "" }],
    ["a DRIFT line of another host", { code: 1, stdout: "cdktf-ipvs lb2 [verify] DRIFT: x\n", stderr: "" }],
  ])("%s is 'could not check' (DriftCheckError, CLI exit 2)", (_, answer) => {
    expect(() => checkDrift(host, new FakeHost(answer))).toThrow(DriftCheckError);
    const r = cli(answer);
    expect(r.code).toBe(2);
    expect(r.err).toContain("could not check");
    expect(r.out).not.toContain("in sync");
  });

  test("drift with exit 1 and DRIFT lines is drift, exit 1", () => {
    const r = cli({ code: 1, stdout: "cdktf-ipvs lb1 [verify] DRIFT: kernel module ip_vs_rr is not loaded\ncdktf-ipvs lb1 [verify] 1 difference(s) from the desired state\n", stderr: "" });
    expect(r.code).toBe(1);
    expect(r.err).toContain("  - kernel module ip_vs_rr is not loaded");
  });

  test("what the host answered cannot drive the terminal", () => {
    const r = cli({ code: 0, stdout: "\u001b[2J\u001b]0;owned\u0007banner\u009b31m\n", stderr: "" });
    expect(r.code).toBe(2);
    expect(r.err).toContain("\\u001b[2J");
    expect(r.err).toContain("\\u009b31m");
    expect(r.err).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  test("a host name with terminal escapes is shown escaped", () => {
    const r = cli({ code: 0, stdout: OK, stderr: "" }, ["--host", "\u001b[2Jevil\u202e"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--host "\\u001b[2Jevil\\u202e" is not a host of the spec; its hosts: lb1');
    expect(r.err).not.toMatch(/[\u001b\u202e]/);
  });

  test("a runner that throws is an internal error on one line, exit 2, no stack", () => {
    const r = cli(() => {
      throw new TypeError("boom\n    at somewhere (x.js:1:1)");
    });
    expect(r.code).toBe(2);
    expect(r.err).toBe("cdktf-ipvs: internal error: TypeError: boom\\n    at somewhere (x.js:1:1)");
  });
});

describe("drift --ssh: the SSH endpoint is checked against the host's services", () => {
  const OK = { code: 0, stdout: `cdktf-ipvs lb1 [verify] ${VERIFY_OK_TEXT}\n`, stderr: "" };
  const driftWith = (hostSpec: object, ssh: string) => {
    const spec = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-drift-")), "spec.json");
    fs.writeFileSync(spec, JSON.stringify({ hosts: [hostSpec, seedHost({ name: "lb2" })] }));
    const err: string[] = [];
    let connected = 0;
    const code = runCli(["drift", "--spec", spec, "--host", "lb1", "--ssh", ssh], { out: () => undefined, err: (t) => err.push(t) }, {
      runner: () => {
        connected++;
        return new FakeHost(OK);
      },
    });
    return { code, err: err.join("\n"), connected };
  };

  test("a service on the --ssh endpoint is refused before connecting (exit 1)", () => {
    const r = driftWith(seedHost(), "root@172.16.1.8:1000");
    expect(r.code).toBe(1);
    expect(r.connected).toBe(0);
    expect(r.err).toMatch(/^invalid spec \(1 problem\)/);
    expect(r.err).toContain("SSH endpoint");
    expect(r.err).toContain('note: the host checked has no "ssh" in the spec, so the model checked it with ssh root@172.16.1.8:1000 (--ssh)');
  });

  test("an alias on the --ssh endpoint is refused too", () => {
    const r = driftWith(seedHost(), "172.16.1.8:1010");
    expect(r.code).toBe(1);
    expect(r.connected).toBe(0);
  });

  test("another port, or a host that declares its own ssh, is checked as before", () => {
    expect(driftWith(seedHost(), "root@172.16.1.8:22")).toMatchObject({ code: 0, connected: 1 });
    expect(driftWith({ ...seedHost(), ssh: { host: "10.0.0.9", port: 22 } }, "root@172.16.1.8:1000")).toMatchObject({ code: 0, connected: 1 });
  });
});

describe("previewHost (apply.sh --dry-run over the runner)", () => {
  const P = "cdktf-ipvs lb1 [preview]";
  class Recorder implements HostRunner {
    calls: { script: string; args?: readonly string[] }[] = [];
    constructor(private readonly answer: RunResult) {}
    run(script: string, args?: readonly string[]): RunResult {
      this.calls.push({ script, args });
      return this.answer;
    }
  }

  test("runs the apply.sh rendered from the same model, with --dry-run", () => {
    const fake = new Recorder({ code: 0, stdout: `${P} DONE: 0 change(s) pending\n`, stderr: "" });
    expect(previewHost(host, fake)).toEqual({ host: "lb1", pending: 0, changes: [] });
    expect(fake.calls[0].args).toEqual(["--dry-run"]);
    expect(fake.calls[0].script).toBe(renderHost(planHost(host)).scripts["apply.sh"]);
  });

  test("reads each CHANGE line with its step", () => {
    const stdout = [
      "Welcome to lb1",
      `${P} sysctls CHANGE: net.ipv4.vs.conntrack: 0 -> 1`,
      `${P} ipvs CHANGE: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1`,
      `${P} DONE: 2 change(s) pending`,
    ].join("\n");
    expect(previewHost(host, new Recorder({ code: 3, stdout, stderr: "" }))).toEqual({
      host: "lb1",
      pending: 2,
      changes: [
        { step: "sysctls", change: "net.ipv4.vs.conntrack: 0 -> 1" },
        { step: "ipvs", change: "ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1" },
      ],
    });
  });

  test.each([
    ["no answer at all", { code: 255, stdout: "", stderr: "ssh: connect to host 127.0.0.1 port 1: Connection refused" }],
    ["exit 0 without the DONE line (a banner only)", { code: 0, stdout: "Welcome\n", stderr: "" }],
    ["the apply would refuse (exit 1, ERROR on stderr)", { code: 1, stdout: "", stderr: "cdktf-ipvs lb1 [ipvs] ERROR: refusing to take over IPVS services cdktf-ipvs does not own" }],
    ["exit 0 with changes", { code: 0, stdout: `${P} ipvs CHANGE: x\n${P} DONE: 1 change(s) pending\n`, stderr: "" }],
    ["exit 3 without changes", { code: 3, stdout: `${P} DONE: 0 change(s) pending\n`, stderr: "" }],
    ["a count that does not match the CHANGE lines", { code: 3, stdout: `${P} ipvs CHANGE: x\n${P} DONE: 2 change(s) pending\n`, stderr: "" }],
    ["two DONE lines", { code: 0, stdout: `${P} DONE: 0 change(s) pending\n${P} DONE: 0 change(s) pending\n`, stderr: "" }],
    ["another host's DONE line", { code: 0, stdout: "cdktf-ipvs lb2 [preview] DONE: 0 change(s) pending\n", stderr: "" }],
    ["the DONE line quoted inside another line", { code: 0, stdout: `echo '${P} DONE: 0 change(s) pending'\n`, stderr: "" }],
  ])("%s is 'could not check' (PreviewCheckError)", (_, answer) => {
    expect(() => previewHost(host, new Recorder(answer))).toThrow(PreviewCheckError);
  });

  test("the lines it reads are the ones apply.sh prints", () => {
    const apply = renderHost(planHost(host)).scripts["apply.sh"];
    expect(apply).toContain(`printf 'cdktf-ipvs %s [preview] %s ${PREVIEW_CHANGE_TEXT}%s\\n' "$HOST_NAME" "$STEP" "$*"`);
    expect(apply).toContain(`log "${PREVIEW_DONE_TEXT}$CHANGES change(s) pending"`);
    expect(apply).toContain(`STEP=preview\n  log "${PREVIEW_DONE_TEXT}`);
    expect(apply).toContain(`exit ${PREVIEW_PENDING_EXIT}`);
  });
});

describe("SshRunner passes arguments to sh -s, quoted for the remote shell", () => {
  test("the remote command line", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-ssh-"));
    // A fake ssh that prints its arguments and what it read.
    fs.writeFileSync(path.join(dir, "ssh"), '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done; echo; cat\n', { mode: 0o755 });
    const ssh = path.join(dir, "ssh");
    const r = new SshRunner({ host: "127.0.0.1", port: 2222, user: "root" }, ssh).run("echo hi\n", ["--dry-run", "it's"]);
    expect(r.stdout).toContain("[root@127.0.0.1][sh -s -- '--dry-run' 'it'\\''s']");
    expect(r.stdout).toContain("echo hi");
    expect(new SshRunner({ host: "h" }, ssh).run("x").stdout).toContain("[root@h][sh -s]");
  });

  test("become sudo: the remote command is sudo -n sh -s, arguments still quoted", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-ssh-"));
    fs.writeFileSync(path.join(dir, "ssh"), '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done; echo\n', { mode: 0o755 });
    const r = new SshRunner({ host: "h", user: "deploy", become: "sudo" }, path.join(dir, "ssh")).run("x", ["--dry-run"]);
    expect(r.stdout).toContain("[deploy@h][sudo -n sh -s -- '--dry-run']");
  });

  test("jump: a ProxyCommand to the bastion with the same identity and host key option, every word quoted", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-ssh-"));
    fs.writeFileSync(path.join(dir, "ssh"), '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done; echo\n', { mode: 0o755 });
    const ssh = path.join(dir, "ssh");
    const target = { host: "10.0.0.5", user: "root", identityFile: "/keys/it's", noHostKeyCheck: true, jump: { host: "bastion.example", port: 2200, user: "ops" } };
    const r = new SshRunner(target, ssh).run("x");
    const proxy = `[ProxyCommand='${ssh}' '-p' '2200' '-o' 'BatchMode=yes' '-o' 'ConnectTimeout=15' '-i' '/keys/it'\\''s' '-o' 'StrictHostKeyChecking=no' '-o' 'UserKnownHostsFile=/dev/null' '-o' 'LogLevel=ERROR' '-W' %h:%p 'ops@bastion.example']`;
    expect(r.stdout).toContain(`[-o]${proxy}[root@10.0.0.5][sh -s]`);
    // ssh expands % tokens in a ProxyCommand: a % of ours is doubled, so it reaches the jump hop as it is.
    expect(new SshRunner({ ...target, identityFile: "/keys/100%.key" }, ssh).run("x").stdout).toContain("'-i' '/keys/100%%.key'");
    // Without jump, no ProxyCommand.
    expect(new SshRunner({ host: "h" }, ssh).run("x").stdout).not.toContain("ProxyCommand");
  });

  test("jump, run for real: ssh's ProxyCommand goes through sh, which hands the bastion hop its words unchanged", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-ssh-"));
    // A fake ssh: as the target hop, it runs the ProxyCommand the way OpenSSH does (the user's
    // shell, "exec " + the command, %h and %p expanded); as the bastion hop (-W), it logs its words.
    const log = path.join(dir, "bastion.log");
    fs.writeFileSync(
      path.join(dir, "ssh"),
      `#!/bin/sh
proxy=; prev=
for a in "$@"; do
  case "$prev" in -o) case "$a" in ProxyCommand=*) proxy=\${a#ProxyCommand=} ;; esac ;; esac
  [ "$a" = -W ] && { for b in "$@"; do printf "[%s]" "$b"; done >>"${log}"; exit 0; }
  prev=$a
done
[ -n "$proxy" ] && sh -c "exec $(printf %s "$proxy" | sed 's/%h/10.0.0.5/; s/%p/22/')"
echo target-ran
`,
      { mode: 0o755 },
    );
    const r = new SshRunner({ host: "10.0.0.5", identityFile: "/keys/a b", jump: { host: "b1", port: 22, user: "ops" } }, path.join(dir, "ssh")).run("x");
    expect(r.stdout).toContain("target-ran");
    expect(fs.readFileSync(log, "utf8")).toBe("[-p][22][-o][BatchMode=yes][-o][ConnectTimeout=15][-i][/keys/a b][-W][10.0.0.5:22][ops@b1]");
  });
});
