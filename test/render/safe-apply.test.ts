/**
 * Graceful drain and all-or-nothing steps (lib/render/host/drain.sh, rollback.sh), run with real sh
 * against the fake host of fake-host.ts. The real kernel: test/e2e/safe-operations.e2e.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { HostSpec } from "../../lib/model";
import { seedHost, seedService } from "../fixtures";
import { FakeHost, Run, apply, applyRun, fakeHost, removeFakeHosts, render, runScript, snapshot } from "./fake-host";

afterAll(removeFakeHosts);

const VIP = "172.16.1.8";

function syncedHost(spec: HostSpec = seedHost()): FakeHost {
  const host = fakeHost();
  apply(host, spec);
  fs.rmSync(path.join(host.root, "fake/batches"), { force: true });
  return host;
}

const table = (host: FakeHost) => fs.readFileSync(path.join(host.root, "fake/ipvs"), "utf8");
const batches = (host: FakeHost) =>
  fs.existsSync(path.join(host.root, "fake/batches"))
    ? fs.readFileSync(path.join(host.root, "fake/batches"), "utf8").split("--\n").filter(Boolean).map((b) => b.trim().split("\n"))
    : [];
const fake = (host: FakeHost, name: string, text = "") => fs.writeFileSync(path.join(host.root, "fake", name), text);

/** The seed's host with its service's real servers and drain timeout replaced. */
function seedWith(ports: number[], drainTimeoutSeconds?: number, protocol: "tcp" | "udp" = "tcp"): HostSpec {
  return seedHost({
    virtualServices: [
      seedService({
        protocol,
        realServers: ports.map((port) => ({ address: VIP, port, forwarding: "masquerade" as const })),
        ...(protocol === "udp" ? { aliases: [] } : {}),
        ...(drainTimeoutSeconds !== undefined ? { drainTimeoutSeconds } : {}),
      }),
    ],
  });
}

/** Everything a rollback must put back: the tables and our files (not the fakes' scratch files, not directory mtimes). */
function hostState(host: FakeHost): string {
  return snapshot(host)
    .split("\n")
    .filter((l) => !/^fake\/(batches|active|ipvs\.batch|restore\.in|fail-)/.test(l))
    .map((l) => l.replace(/^(\S+\/) (\d+) [0-9.]+$/, "$1 $2"))
    // The fakes' tables are kernel state: their bytes count, not when the fake rewrote them; the
    // lock file is opened for writing; apply.sh is written by the upload before each run.
    .map((l) => (/^(fake\/|run\/cdktf-ipvs\.lock |var\/lib\/cdktf-ipvs\/apply\.sh )/.test(l) ? l.replace(/ [0-9.]+ ([0-9a-f]{64})$/, " $1") : l))
    .join("\n");
}

const ipvsCalls = (r: Run) => r.calls.filter((c) => c.startsWith("ipvsadm ") && c !== "ipvsadm -Sn" && c !== "ipvsadm -Ln --thresholds");

describe("graceful drain", () => {
  test("a removed TCP real server gets weight 0, is waited for while it has active connections, then deleted", () => {
    const host = syncedHost(seedWith([1001, 1002], 10));
    fake(host, "active", `-t ${VIP}:1000 ${VIP}:1002 2\n`);

    const r = apply(host, seedWith([1001], 10));

    // One batch sets the weight to 0 (keeping forwarding), polls see 2, 1, 0 connections, one batch deletes.
    expect(batches(host)).toEqual([[`-e -t ${VIP}:1000 -r ${VIP}:1002 -m -w 0`], [`-d -t ${VIP}:1000 -r ${VIP}:1002`]]);
    expect(ipvsCalls(r)).toEqual(["ipvsadm -R", "ipvsadm -Ln", "ipvsadm -Ln", "ipvsadm -Ln", "ipvsadm -R"]);
    expect(r.stdout).toContain(`DRAIN_REAL -t ${VIP}:1000 -r ${VIP}:1002 (weight 0 now; deleted when its active connections end, at most 10 s) (was: -m -w 1)`);
    expect(r.stdout).toContain(`draining -t ${VIP}:1000 -r ${VIP}:1002: 2 active connection(s), waited 0 s of at most 10 s`);
    expect(r.stdout).toMatch(new RegExp(`drained -t ${VIP}:1000 -r ${VIP}:1002: no active connection left after [0-9]+ s`));
    expect(table(host)).not.toContain(`${VIP}:1002`);
    expect(table(host)).toContain(`-a -t ${VIP}:1000 -r ${VIP}:1001 -m -w 1`);
  });

  test("at its timeout the server is deleted with its connections, and the log says how many were left", () => {
    const host = syncedHost(seedWith([1001, 1002], 1));
    fake(host, "active", `-t ${VIP}:1000 ${VIP}:1002 3\n`);
    fake(host, "active.stays");

    const r = apply(host, seedWith([1001], 1));

    expect(r.stdout).toMatch(new RegExp(`drain of -t ${VIP}:1000 -r ${VIP}:1002 timed out after [12] s \\(limit 1 s\\) with 3 active connection\\(s\\); deleting it now`));
    expect(table(host)).not.toContain(`${VIP}:1002`);
  });

  test("when ipvsadm -Ln fails during a drain, nothing is deleted: the step fails, named, and is rolled back", () => {
    const host = syncedHost(seedWith([1001, 1002], 10));
    fake(host, "active", `-t ${VIP}:1000 ${VIP}:1002 2\n`);
    fake(host, "fail-ln");

    const r = applyRun(host, seedWith([1001], 10));

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("ipvsadm -Ln failed while draining");
    // Weight back to 1, the server still there: an empty listing did not read as "drained".
    expect(table(host)).toContain(`-a -t ${VIP}:1000 -r ${VIP}:1002 -m -w 1`);
    expect(batches(host).flat()).not.toContain(`-d -t ${VIP}:1000 -r ${VIP}:1002`);
  });

  test("control: drainTimeoutSeconds 0 deletes at once, without looking at connections", () => {
    const host = syncedHost(seedWith([1001, 1002], 0));
    fake(host, "active", `-t ${VIP}:1000 ${VIP}:1002 2\n`);

    const r = apply(host, seedWith([1001], 0));

    expect(batches(host)).toEqual([[`-d -t ${VIP}:1000 -r ${VIP}:1002`]]);
    expect(ipvsCalls(r)).toEqual(["ipvsadm -R"]);
    expect(r.stdout).not.toContain("draining");
  });

  test("UDP real servers are deleted at once: IPVS counts no active UDP connection", () => {
    const host = syncedHost(seedWith([1001, 1002], 30, "udp"));
    const r = apply(host, seedWith([1001], 30, "udp"));
    expect(batches(host)).toEqual([[`-d -u ${VIP}:1000 -r ${VIP}:1002`]]);
    expect(ipvsCalls(r)).toEqual(["ipvsadm -R"]);
  });

  test("a service removed from the spec drains its real servers for the host's drainTimeoutSeconds, then goes in one -D", () => {
    const second = seedService({ name: "second", port: 3000, aliases: [], realServers: [{ address: VIP, port: 3001, forwarding: "masquerade" }] });
    const host = syncedHost(seedHost({ drainTimeoutSeconds: 5, virtualServices: [seedService(), second] }));
    fake(host, "active", `-t ${VIP}:3000 ${VIP}:3001 1\n`);

    const r = apply(host, seedHost({ drainTimeoutSeconds: 5 }));

    expect(batches(host)).toEqual([[`-e -t ${VIP}:3000 -r ${VIP}:3001 -m -w 0`], [`-D -t ${VIP}:3000`]]);
    expect(r.stdout).toContain(`DEL_SERVICE -t ${VIP}:3000 (after its real servers drain)`);
    expect(table(host)).not.toContain(":3000");
  });

  test("a real server already at weight 0 (taken out for maintenance) is not edited again before it is deleted", () => {
    const drained = seedHost({
      virtualServices: [
        seedService({
          drainTimeoutSeconds: 10,
          realServers: [
            { address: VIP, port: 1001, forwarding: "masquerade" },
            { address: VIP, port: 1002, forwarding: "masquerade", weight: 0 },
          ],
        }),
      ],
    });
    const host = syncedHost(drained);
    apply(host, seedWith([1001], 10));
    expect(batches(host)).toEqual([[`-d -t ${VIP}:1000 -r ${VIP}:1002`]]);
  });

  test("destroy drains our TCP real servers, then deletes every owned service in one batch; other services stay", () => {
    const host = syncedHost(seedWith([1001, 1002], 10));
    fs.appendFileSync(path.join(host.root, "fake/ipvs"), `-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n`);
    fake(host, "active", `-t ${VIP}:1000 ${VIP}:1001 1\n`);

    const r = runScript(host, render(seedWith([1001, 1002], 10)).scripts["destroy.sh"], []);

    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(batches(host)).toEqual([[`-e -t ${VIP}:1000 -r ${VIP}:1001 -m -w 0`, `-e -t ${VIP}:1000 -r ${VIP}:1002 -m -w 0`], [`-D -t ${VIP}:1000`]]);
    expect(r.stdout).toMatch(/drained -t 172\.16\.1\.8:1000 -r 172\.16\.1\.8:1001: no active connection left after/);
    expect(table(host)).toBe(`-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n`);
  });
});

describe("all-or-nothing steps", () => {
  test("a fault halfway through the IPVS batch: what ran is undone, files are as before, the error names the step and the cause", () => {
    const host = syncedHost();
    const change = seedHost({
      virtualServices: [
        seedService({
          realServers: [
            { address: VIP, port: 1001, forwarding: "masquerade", weight: 5 },
            { address: VIP, port: 1002, forwarding: "masquerade" },
            { address: VIP, port: 1003, forwarding: "masquerade" },
          ],
        }),
        seedService({ name: "second", port: 3000, aliases: [], realServers: [{ address: VIP, port: 3001, forwarding: "masquerade" }] }),
      ],
    });
    // apply.sh itself is replaced by the upload before the run; snapshot after that.
    fs.writeFileSync(path.join(host.root, "var/lib/cdktf-ipvs/apply.sh"), render(change).scripts["apply.sh"]);
    const before = hostState(host);
    fake(host, "fail-restore");

    const r = applyRun(host, change);

    expect(r.code).not.toBe(0);
    expect(batches(host)[0]).toHaveLength(4); // the fake applied the first 2 of these, then failed
    expect(r.stderr).toMatch(/cdktf-ipvs lb1 \[ipvs\] ERROR: ipvsadm -R failed \(ipvsadm: injected fault\) applying 4 IPVS change\(s\): -A -t 172\.16\.1\.8:3000 -s rr;/);
    expect(r.stderr).toContain("cdktf-ipvs lb1 [ipvs] ERROR: step ipvs failed and was rolled back; the host is as it was before the step");
    expect(r.stdout).toContain(`[ipvs] rollback: DEL_SERVICE -t ${VIP}:3000`);
    expect(hostState(host)).toBe(before);

    // The cause is gone: the same apply succeeds.
    apply(host, change);
    expect(table(host)).toContain(`-a -t ${VIP}:3000 -r ${VIP}:3001 -m -w 1`);
  });

  test("a fault in the second nat chain: the first chain had changed and is put back, with its jump", () => {
    const host = syncedHost();
    const change = seedHost({ virtualServices: [seedService({ aliases: [{ port: 1010, method: "redirect" }, { port: 1030, method: "dnat", localClients: true }] })] });
    fs.writeFileSync(path.join(host.root, "var/lib/cdktf-ipvs/apply.sh"), render(change).scripts["apply.sh"]);
    const before = hostState(host);
    fake(host, "fail-restore.iptables.CDKTF-IPVS-OUT");

    const r = applyRun(host, change);

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("[aliases] ERROR: iptables-restore failed for chain CDKTF-IPVS-OUT");
    expect(r.stdout).toMatch(/iptables nat CDKTF-IPVS-PRE: .*--dport 1030/); // it had changed
    expect(r.stdout).toContain("[aliases] rollback: iptables nat CDKTF-IPVS-PRE back to its 2 rule(s)");
    expect(hostState(host)).toBe(before);
    apply(host, change);
  });

  test("a sysctl that does not take its value: the sysctls step puts back the one it had set and the record it wrote", () => {
    const host = fakeHost();
    const spec = seedHost({ sysctls: { "net.ipv4.vs.sloppy_tcp": 1 } });
    // The modules step loads ip_vs (the fake makes /proc/sys/net/ipv4/vs); then sloppy_tcp swallows writes.
    fs.mkdirSync(path.join(host.root, "proc/sys/net/ipv4/vs"), { recursive: true });
    fs.symlinkSync("/dev/null", path.join(host.root, "proc/sys/net/ipv4/vs/sloppy_tcp"));

    const r = applyRun(host, spec);

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("[sysctls] ERROR: net.ipv4.vs.sloppy_tcp did not take the value 1");
    expect(r.stdout).toContain("net.ipv4.vs.conntrack: 0 -> 1");
    expect(r.stdout).toContain("[sysctls] rollback: net.ipv4.vs.conntrack back to 0");
    expect(fs.readFileSync(path.join(host.root, "proc/sys/net/ipv4/vs/conntrack"), "utf8").trim()).toBe("0");
    expect(fs.existsSync(path.join(host.root, "var/lib/cdktf-ipvs/sysctl.orig"))).toBe(false);
    expect(fs.existsSync(path.join(host.root, "etc/sysctl.d/90-cdktf-ipvs.conf"))).toBe(false);
    // The modules step before it completed, and stays.
    expect(fs.existsSync(path.join(host.root, "etc/modules-load.d/cdktf-ipvs.conf"))).toBe(true);
  });

  test("a step that completes is not rolled back by a later step's failure", () => {
    const host = syncedHost();
    const realServers = [1001, 1002, 1003].map((port) => ({ address: VIP, port, forwarding: "masquerade" as const }));
    const change = seedHost({ virtualServices: [seedService({ realServers, aliases: [{ port: 1010, method: "redirect" }, { port: 1030, method: "dnat", localClients: true }] })] });
    fake(host, "fail-restore.iptables.CDKTF-IPVS-OUT");

    const r = applyRun(host, change);

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("step aliases failed and was rolled back");
    expect(table(host)).toContain(`-a -t ${VIP}:1000 -r ${VIP}:1003 -m -w 1`);
  });
});

describe("when apply looks for other owners of IPVS", () => {
  /** A synced seed host on which kube-proxy's IPVS interface has since appeared. */
  function hostWithKubeProxy(): FakeHost {
    const host = syncedHost();
    fs.mkdirSync(path.join(host.root, "sys/class/net/kube-ipvs0"), { recursive: true });
    return host;
  }
  const run = (host: FakeHost, args: string[]) => runScript(host, render().scripts["apply.sh"], args, path.join(host.root, "var/lib/cdktf-ipvs/apply.sh"));

  test("a run that starts a deploy (modules) or changes IPVS (ipvs) looks, and refuses", () => {
    for (const step of ["modules", "ipvs"]) {
      const r = run(hostWithKubeProxy(), [step]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("kube-ipvs0");
    }
  });

  test("the other steps do not look again (a deploy looked at its first step), nor does the boot-time restore", () => {
    for (const args of [["sysctls"], ["aliases"], ["boot"], ["--boot"]]) {
      const r = run(hostWithKubeProxy(), args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
  });
});
