/**
 * apply.sh --dry-run (the host preview) and apply.sh itself, run with real sh against a fake host:
 * a fake root tree (/proc/sys, /sys/module, /run/systemd/system, /var/lib/cdktf-ipvs, /etc) and
 * fake ipvsadm, iptables, ip6tables, *-restore, modprobe, systemctl and id on PATH. The fakes keep
 * state (ipvsadm -R changes the table, iptables-restore the chain, modprobe the module list), so
 * the same host can be previewed, applied and previewed again. Every call is logged, which proves
 * that a preview only reads. The real kernel is exercised in test/e2e/preview.e2e.test.ts.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostSpec } from "../../lib/model";
import { PREVIEW_CHANGE_TEXT, PREVIEW_DONE_TEXT } from "../../lib/render/scripts";
import { seedHost, seedService } from "../fixtures";
import { FakeHost, Run, apply, fakeHost, removeFakeHosts, render, runScript, snapshot } from "./fake-host";


const preview = (host: FakeHost, spec: HostSpec = seedHost(), args: string[] = []) => runScript(host, render(spec).scripts["apply.sh"], ["--dry-run", ...args]);

afterAll(removeFakeHosts);

/** Scratch folders a run left in /run or /tmp. */
const scratch = () => ["/run", os.tmpdir()].flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => n.startsWith("cdktf-ipvs.")).map((n) => `${d}/${n}`) : []));

function changes(r: Run): string[] {
  return r.stdout
    .split("\n")
    .filter((l) => l.includes(` ${PREVIEW_CHANGE_TEXT}`))
    .map((l) => l.replace(/^cdktf-ipvs lb1 \[preview\] /, ""));
}

/** Reads only: what a preview may ask the fakes. */
const READ_ONLY = [/^ipvsadm -Sn$/, /^ipvsadm -Ln --thresholds$/, /^ip6?tables -w -t nat -[SC] /, /^systemctl is-enabled /];

function expectReadOnly(r: Run): void {
  expect(r.calls.filter((c) => !READ_ONLY.some((re) => re.test(c)))).toEqual([]);
}

describe("apply.sh --dry-run on a host that has never seen cdktf-ipvs", () => {
  test("names every change the first apply makes, step by step, and ends with the count; exit 3", () => {
    const host = fakeHost();
    const before = snapshot(host);
    const r = preview(host);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
    expect(changes(r)).toEqual([
      "state CHANGE: create directory FAKE/var/lib/cdktf-ipvs",
      "state CHANGE: create directory FAKE/var/lib/cdktf-ipvs/generation",
      "modules CHANGE: load kernel module ip_vs",
      "modules CHANGE: load kernel module ip_vs_rr",
      "modules CHANGE: load kernel module nf_conntrack",
      "modules CHANGE: write FAKE/etc/modules-load.d/cdktf-ipvs.conf (new file)",
      "sysctls CHANGE: net.ipv4.vs.conntrack: (not present until ip_vs is loaded) -> 1",
      "sysctls CHANGE: net.ipv4.vs.expire_nodest_conn: (not present until ip_vs is loaded) -> 1",
      "sysctls CHANGE: net.ipv4.vs.expire_quiescent_template: (not present until ip_vs is loaded) -> 1",
      "sysctls CHANGE: write FAKE/var/lib/cdktf-ipvs/sysctl.orig (remember for destroy: net.ipv4.vs.conntrack net.ipv4.vs.expire_nodest_conn net.ipv4.vs.expire_quiescent_template)",
      "sysctls CHANGE: write FAKE/etc/sysctl.d/90-cdktf-ipvs.conf (new file)",
      "ipvs CHANGE: ADD_SERVICE -t 172.16.1.8:1000 -s rr",
      "ipvs CHANGE: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1",
      "ipvs CHANGE: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1",
      "ipvs CHANGE: write FAKE/var/lib/cdktf-ipvs/owned-services (1 IPVS service(s) owned)",
      "aliases CHANGE: iptables nat: create chain CDKTF-IPVS-PRE",
      "aliases CHANGE: iptables nat CDKTF-IPVS-PRE: add rule -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment cdktf-ipvs:app -j REDIRECT --to-ports 1000",
      "aliases CHANGE: iptables nat CDKTF-IPVS-PRE: add rule -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000",
      "aliases CHANGE: iptables nat: insert jump PREROUTING -> CDKTF-IPVS-PRE first",
      "boot CHANGE: write FAKE/var/lib/cdktf-ipvs/apply.sh (new file)",
      "boot CHANGE: write FAKE/etc/systemd/system/cdktf-ipvs.service (new file)",
      "boot CHANGE: systemctl enable cdktf-ipvs.service",
    ].map((l) => l.replace(/FAKE/g, host.root)));
    expect(r.stdout.trimEnd().split("\n").pop()).toBe(`cdktf-ipvs lb1 [preview] ${PREVIEW_DONE_TEXT}22 change(s) pending`);
    // Nothing written, nothing loaded, no lock file, no scratch folder left; only reads.
    expect(snapshot(host)).toBe(before);
    expect(fs.existsSync(path.join(host.root, "run/cdktf-ipvs.lock"))).toBe(false);
    expect(scratch()).toEqual([]);
    expectReadOnly(r);
    // ip_vs is not loaded: ipvsadm (which would load it) is not even asked.
    expect(r.calls.filter((c) => c.startsWith("ipvsadm"))).toEqual([]);
  });

  test("the real apply then makes exactly those changes, and a preview after it finds nothing (exit 0)", () => {
    const host = fakeHost();
    const planned = changes(preview(host));
    const a = apply(host);
    expect(a.calls.filter((c) => c.startsWith("modprobe"))).toEqual(
      planned.filter((c) => c.startsWith("modules CHANGE: load kernel module ")).map((c) => c.replace("modules CHANGE: load kernel module ", "modprobe ")),
    );
    expect(a.calls.filter((c) => c.startsWith("modprobe"))).toHaveLength(3);
    expect(fs.readFileSync(path.join(host.root, "fake/ipvs"), "utf8")).toBe(
      "-A -t 172.16.1.8:1000 -s rr\n-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1\n-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1\n",
    );
    expect(fs.readFileSync(path.join(host.root, "proc/sys/net/ipv4/vs/conntrack"), "utf8")).toBe("1\n");
    expect(fs.readFileSync(path.join(host.root, "var/lib/cdktf-ipvs/sysctl.orig"), "utf8")).toBe("net.ipv4.vs.conntrack 0\nnet.ipv4.vs.expire_nodest_conn 0\nnet.ipv4.vs.expire_quiescent_template 0\n");
    const after = preview(host);
    expect(after.stderr).toBe("");
    expect(changes(after)).toEqual([]);
    expect(after.stdout.trim()).toBe(`cdktf-ipvs lb1 [preview] ${PREVIEW_DONE_TEXT}0 change(s) pending`);
    expect(after.code).toBe(0);
    expectReadOnly(after);
  });
});

describe("apply.sh --dry-run on a host in sync", () => {
  function syncedHost(spec: HostSpec = seedHost()): FakeHost {
    const host = fakeHost();
    apply(host, spec);
    return host;
  }

  test("a second real apply writes nothing either: every file keeps its bytes", () => {
    const host = syncedHost();
    const files = snapshot(host)
      .split("\n")
      .map((l) => l.replace(/ [0-9.]+ ([0-9a-f]{64})$/, " $1").replace(/^(\S+\/) \d+ [0-9.]+$/, "$1"));
    const again = apply(host);
    expect(again.stdout).toContain("IPVS services unchanged");
    expect(again.stdout).not.toMatch(/loaded module|-> 1|wrote \/|applied \d+ IPVS change/);
    expect(again.calls.filter((c) => /restore|modprobe|-R$| -[IDFX] |systemctl enable|daemon-reload/.test(c))).toEqual([]);
    expect(
      snapshot(host)
        .split("\n")
        .map((l) => l.replace(/ [0-9.]+ ([0-9a-f]{64})$/, " $1").replace(/^(\S+\/) \d+ [0-9.]+$/, "$1")),
    ).toEqual(files);
  });

  test("a spec change: exactly its changes (weight, new real server, dropped alias, new apply.sh)", () => {
    const host = syncedHost();
    const v2 = seedHost({
      virtualServices: [
        seedService({
          realServers: [
            { address: "172.16.1.8", port: 1001, forwarding: "masquerade" },
            { address: "172.16.1.8", port: 1002, forwarding: "masquerade", weight: 3 },
            { address: "172.16.1.8", port: 1003, forwarding: "masquerade", weight: 0 },
          ],
          aliases: [{ port: 1010, method: "redirect" }],
        }),
      ],
    });
    const before = snapshot(host);
    const r = preview(host, v2);
    expect(r.code).toBe(3);
    expect(changes(r)).toEqual([
      "ipvs CHANGE: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1003 -m -w 0",
      "ipvs CHANGE: EDIT_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3 (was: -m -w 1)",
      "aliases CHANGE: iptables nat CDKTF-IPVS-PRE: delete rule -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000",
      `boot CHANGE: write ${host.root}/var/lib/cdktf-ipvs/apply.sh (content differs)`,
    ]);
    expect(snapshot(host)).toBe(before);
    expectReadOnly(r);
    apply(host, v2);
    expect(preview(host, v2).code).toBe(0);
  });

  test("hand-made drift: exactly that (conntrack, a deleted real server, an extra rule in our chain, a removed unit)", () => {
    const host = syncedHost();
    fs.writeFileSync(path.join(host.root, "proc/sys/net/ipv4/vs/conntrack"), "0\n");
    const table = path.join(host.root, "fake/ipvs");
    fs.writeFileSync(table, fs.readFileSync(table, "utf8").replace("-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1\n", ""));
    fs.appendFileSync(path.join(host.root, "fake/iptables.CDKTF-IPVS-PRE"), "-A CDKTF-IPVS-PRE -p tcp -m tcp --dport 9999 -j RETURN\n");
    fs.rmSync(path.join(host.root, "etc/systemd/system/cdktf-ipvs.service"));
    const before = snapshot(host);
    const r = preview(host);
    expect(r.code).toBe(3);
    expect(changes(r)).toEqual([
      "sysctls CHANGE: net.ipv4.vs.conntrack: 0 -> 1",
      "ipvs CHANGE: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1",
      "aliases CHANGE: iptables nat CDKTF-IPVS-PRE: delete rule -p tcp -m tcp --dport 9999 -j RETURN",
      `boot CHANGE: write ${host.root}/etc/systemd/system/cdktf-ipvs.service (new file)`,
    ]);
    expect(snapshot(host)).toBe(before);
    expectReadOnly(r);
    const a = apply(host);
    expect(a.stdout).toContain("net.ipv4.vs.conntrack: 0 -> 1");
    expect(a.calls).toContain("systemctl daemon-reload");
    expect(preview(host).code).toBe(0);
  });

  test("an existing lock file is taken shared and read-only: the preview waits for a running apply and writes nothing", async () => {
    const host = syncedHost();
    const lock = path.join(host.root, "run/cdktf-ipvs.lock");
    expect(fs.existsSync(lock)).toBe(true); // the apply's
    const st = fs.statSync(lock);
    const holder = spawn("flock", ["-x", lock, "sleep", "2"], { stdio: "ignore" });
    const exited = new Promise((resolve) => holder.on("exit", resolve));
    spawnSync("sleep", ["0.3"]);
    const started = Date.now();
    const r = preview(host);
    const waited = Date.now() - started;
    await exited;
    expect(r.code).toBe(0);
    expect(waited).toBeGreaterThan(1000);
    expect(fs.statSync(lock).mtimeMs).toBe(st.mtimeMs);
    expect(fs.statSync(lock).size).toBe(st.size);
  });

  test("a service that exists but is not ours stops the preview like the apply (exit 1, no DONE line)", () => {
    const host = fakeHost();
    fs.mkdirSync(path.join(host.root, "sys/module/ip_vs"));
    fs.mkdirSync(path.join(host.root, "proc/sys/net/ipv4/vs"), { recursive: true });
    for (const key of ["conntrack", "expire_nodest_conn", "expire_quiescent_template"]) fs.writeFileSync(path.join(host.root, "proc/sys/net/ipv4/vs", key), "0\n");
    fs.writeFileSync(path.join(host.root, "fake/ipvs"), "-A -t 172.16.1.8:1000 -s wlc\n");
    const r = preview(host);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("exists on this host but was not created by cdktf-ipvs");
    expect(r.stdout).not.toContain(PREVIEW_DONE_TEXT);
  });

  test("--boot previews the boot-time steps only; --generation adds the generation records", () => {
    const host = syncedHost();
    expect(preview(host, seedHost(), ["--boot"]).code).toBe(0);
    const g = preview(host, seedHost(), ["--generation", "abc", "ipvs"]);
    expect(changes(g)).toEqual([`ipvs CHANGE: write ${host.root}/var/lib/cdktf-ipvs/generation/ipvs (generation abc)`]);
  });

  test("apply.sh carries its own fingerprint: sha256 of its text with the SCRIPT_ID line empty", () => {
    const script = render().scripts["apply.sh"];
    const lines = script.split("\n");
    const at = lines.findIndex((l) => l.startsWith("SCRIPT_ID="));
    expect(lines.filter((l) => l.startsWith("SCRIPT_ID="))).toHaveLength(1);
    const id = lines[at].slice("SCRIPT_ID=".length);
    lines[at] = "SCRIPT_ID=";
    expect(id).toBe(crypto.createHash("sha256").update(lines.join("\n")).digest("hex"));
  });

  test.each([
    ["one byte changed", (t: string) => t.replace("cdktf-ipvs apply.sh for host lb1", "cdktf-ipvs apply.sh for host lb2")],
    ["its SCRIPT_ID line changed", (t: string) => t.replace(/^SCRIPT_ID=.*$/m, `SCRIPT_ID=${"0".repeat(64)}`)],
    ["a line appended", (t: string) => `${t}echo pwned\n`],
  ])("a preview from stdin sees an installed apply.sh with %s as a file to rewrite", (_, edit) => {
    const host = syncedHost();
    const installed = path.join(host.root, "var/lib/cdktf-ipvs/apply.sh");
    fs.writeFileSync(installed, edit(fs.readFileSync(installed, "utf8")));
    const r = preview(host);
    expect(changes(r)).toEqual([`boot CHANGE: write ${installed} (content differs)`]);
    expect(r.code).toBe(3);
  });

  test("a preview run from a file compares that file byte for byte", () => {
    const host = syncedHost();
    const installed = path.join(host.root, "var/lib/cdktf-ipvs/apply.sh");
    expect(runScript(host, render().scripts["apply.sh"], ["--dry-run"], installed).code).toBe(0);
    const elsewhere = path.join(host.root, "apply-copy.sh");
    fs.writeFileSync(elsewhere, `${render().scripts["apply.sh"]}# edited\n`);
    const r = runScript(host, render().scripts["apply.sh"], ["--dry-run"], elsewhere);
    expect(changes(r)).toEqual([`boot CHANGE: write ${installed} (content differs)`]);
  });

  test("IPv6, firewall marks, UDP and local-client DNAT: previewed, applied, then nothing to change", () => {
    const mixed: HostSpec = {
      name: "lb1",
      sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 },
      virtualServices: [
        seedService(),
        { name: "dns", protocol: "udp", address: "172.16.1.8", port: 53, scheduler: "wrr", persistence: { timeout: 300, netmask: "255.255.255.0" }, realServers: [{ address: "10.9.9.9", forwarding: "gatewaying", weight: 3 }] },
        { name: "v6", address: "fd00:16::8", port: 1000, scheduler: "lc", realServers: [{ address: "fd00:16::8", port: 1001, forwarding: "masquerade" }], aliases: [{ port: 1010, method: "dnat", localClients: true }] },
        { name: "mark", fwmark: 7, scheduler: "mh", schedulerFlags: ["mh-port"], realServers: [{ address: "10.0.0.2", forwarding: "gatewaying" }] },
      ],
    };
    const host = fakeHost();
    const first = preview(host, mixed);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(3);
    expect(changes(first)).toEqual(
      expect.arrayContaining([
        "sysctls CHANGE: net.ipv4.vs.expire_nodest_conn: (not present until ip_vs is loaded) -> 1",
        "ipvs CHANGE: ADD_SERVICE -f 7 -s mh -b mh-port",
        "ipvs CHANGE: ADD_SERVICE -t [fd00:16::8]:1000 -s lc",
        "aliases CHANGE: ip6tables nat: insert jump PREROUTING -> CDKTF-IPVS-PRE first",
        "aliases CHANGE: ip6tables nat: insert jump OUTPUT -> CDKTF-IPVS-OUT first",
      ]),
    );
    fs.mkdirSync(path.join(host.root, "proc/sys/net/ipv4/vs"), { recursive: true });
    fs.writeFileSync(path.join(host.root, "proc/sys/net/ipv4/vs/expire_nodest_conn"), "0\n");
    apply(host, mixed);
    const after = preview(host, mixed);
    expect({ code: after.code, changes: changes(after), stderr: after.stderr }).toEqual({ code: 0, changes: [], stderr: "" });
  });

  test("a rule missing from our chain, or our jump missing, is named; a duplicated rule is a rewrite", () => {
    const host = syncedHost();
    const chain = path.join(host.root, "fake/iptables.CDKTF-IPVS-PRE");
    const rules = fs.readFileSync(chain, "utf8").trim().split("\n");
    fs.writeFileSync(chain, `${rules[1]}\n`);
    fs.writeFileSync(path.join(host.root, "fake/iptables.jumps"), "");
    expect(changes(preview(host))).toEqual([
      `aliases CHANGE: iptables nat CDKTF-IPVS-PRE: add rule ${rules[0].replace("-A CDKTF-IPVS-PRE ", "")}`,
      "aliases CHANGE: iptables nat: insert jump PREROUTING -> CDKTF-IPVS-PRE first",
    ]);
    // Same rules in another order: in sync, as apply and verify see it (each rule found by -C).
    fs.writeFileSync(chain, `${rules[1]}\n${rules[0]}\n`);
    expect(changes(preview(host))).toEqual(["aliases CHANGE: iptables nat: insert jump PREROUTING -> CDKTF-IPVS-PRE first"]);
    // A rule twice: no rule to add or delete by text, but the chain is rewritten.
    fs.writeFileSync(chain, `${rules[0]}\n${rules[0]}\n${rules[1]}\n`);
    expect(changes(preview(host))).toEqual([
      "aliases CHANGE: iptables nat CDKTF-IPVS-PRE: rewrite its 2 rule(s) (duplicate rules, or rules in another form)",
      "aliases CHANGE: iptables nat: insert jump PREROUTING -> CDKTF-IPVS-PRE first",
    ]);
    apply(host);
    expect(fs.readFileSync(chain, "utf8").trim().split("\n")).toEqual(rules);
    expect(preview(host).code).toBe(0);
  });

  test("a host with no aliases left removes our chains, and says so", () => {
    const host = syncedHost();
    const noAliases = seedHost({ virtualServices: [seedService({ aliases: [] })] });
    const r = preview(host, noAliases);
    expect(changes(r).filter((c) => c.startsWith("aliases"))).toEqual([
      "aliases CHANGE: iptables nat: remove jump PREROUTING -> CDKTF-IPVS-PRE",
      "aliases CHANGE: iptables nat: remove chain CDKTF-IPVS-PRE (2 rule(s))",
    ]);
    expectReadOnly(r);
  });
});
