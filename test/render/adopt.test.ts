/**
 * adopt: true on a virtual service (what `cdktf-ipvs import` writes) lets apply.sh take over a
 * service that exists on the host but was not created by cdktf-ipvs. Run with real sh against the
 * fake host of fake-host.ts: the fake ipvsadm keeps its table, so "no IPVS change" is the table
 * itself, byte for byte, and the absence of any ipvsadm -R call.
 */
import * as fs from "fs";
import * as path from "path";
import { HostSpec } from "../../lib/model";
import { PREVIEW_CHANGE_TEXT } from "../../lib/render/scripts";
import { seedHost, seedService } from "../fixtures";
import { FakeHost, applyRun, fakeHost, removeFakeHosts, render, runScript } from "./fake-host";

afterAll(removeFakeHosts);

/** The seed's service as a hand-made host has it (ipvsadm -Sn), plus one service nobody declares. */
const HAND_MADE = [
  "-A -t 172.16.1.8:1000 -s rr",
  "-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1",
  "-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1",
  "-A -u 172.16.1.8:53 -s wrr",
  "-a -u 172.16.1.8:53 -r 10.9.9.9:53 -g -w 1",
  "",
].join("\n");

/** A host with ip_vs loaded and a hand-made IPVS table; cdktf-ipvs has never run there. */
function handMadeHost(table = HAND_MADE): FakeHost {
  const host = fakeHost();
  fs.mkdirSync(path.join(host.root, "sys/module/ip_vs"));
  fs.mkdirSync(path.join(host.root, "proc/sys/net/ipv4/vs"), { recursive: true });
  for (const key of ["conntrack", "expire_nodest_conn", "expire_quiescent_template"]) fs.writeFileSync(path.join(host.root, "proc/sys/net/ipv4/vs", key), "0\n");
  fs.writeFileSync(path.join(host.root, "fake/ipvs"), table);
  return host;
}

const table = (host: FakeHost) => fs.readFileSync(path.join(host.root, "fake/ipvs"), "utf8");
const owned = (host: FakeHost) => fs.readFileSync(path.join(host.root, "var/lib/cdktf-ipvs/owned-services"), "utf8");
const restores = (calls: string[]) => calls.filter((c) => c === "ipvsadm -R");
const ipvsChanges = (stdout: string) => stdout.split("\n").filter((l) => l.includes(`[preview] ipvs ${PREVIEW_CHANGE_TEXT}`));

const adopted = (overrides: Parameters<typeof seedService>[0] = {}): HostSpec => seedHost({ virtualServices: [seedService({ aliases: [], adopt: true, ...overrides })] });

describe("a service that exists but is not ours", () => {
  test("declared with adopt and identical: taken over with no IPVS change; the other service is untouched", () => {
    const host = handMadeHost();
    const r = applyRun(host, adopted());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(restores(r.calls)).toEqual([]);
    expect(table(host)).toBe(HAND_MADE);
    expect(owned(host)).toBe("-t 172.16.1.8:1000\n");
    expect(r.stdout).toContain("IPVS services unchanged");
    // A second apply: nothing to do.
    const again = applyRun(host, adopted());
    expect(again.code).toBe(0);
    expect(restores(again.calls)).toEqual([]);
    expect(table(host)).toBe(HAND_MADE);
  });

  test("the preview of the adopting apply lists no IPVS change but owning it", () => {
    const host = handMadeHost();
    const r = runScript(host, render(adopted()).scripts["apply.sh"], ["--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3); // sysctls and files are pending, the IPVS table is not
    expect(ipvsChanges(r.stdout).map((l) => l.replace(/^.*CHANGE: /, ""))).toEqual([
      `write ${host.root}/var/lib/cdktf-ipvs/owned-services (1 IPVS service(s) owned)`,
    ]);
  });

  test("declared with adopt but different: taken over, then changed like our own (one edit)", () => {
    const host = handMadeHost();
    const spec = adopted({
      realServers: [
        { address: "172.16.1.8", port: 1001, forwarding: "masquerade" },
        { address: "172.16.1.8", port: 1002, forwarding: "masquerade", weight: 3 },
      ],
    });
    const r = applyRun(host, spec);
    expect(r.code).toBe(0);
    expect(table(host)).toBe(HAND_MADE.replace("172.16.1.8:1002 -m -w 1", "172.16.1.8:1002 -m -w 3"));
    expect(fs.readFileSync(path.join(host.root, "fake/batches"), "utf8")).toBe("-e -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3\n--\n");
  });

  test("without adopt it is still refused, and nothing changes", () => {
    const host = handMadeHost();
    const r = applyRun(host, seedHost({ virtualServices: [seedService({ aliases: [] })] }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("service -t 172.16.1.8:1000 exists on this host but was not created by cdktf-ipvs");
    expect(r.stderr).toContain("declare ours with adopt: true to take it over");
    expect(restores(r.calls)).toEqual([]);
    expect(table(host)).toBe(HAND_MADE);
  });

  test("adopt on one service does not take over another that is declared without it", () => {
    const host = handMadeHost();
    const spec = seedHost({
      virtualServices: [
        seedService({ aliases: [], adopt: true }),
        { name: "dns", protocol: "udp", address: "172.16.1.8", port: 53, scheduler: "wrr", realServers: [{ address: "10.9.9.9", forwarding: "gatewaying" }] },
      ],
    });
    const r = applyRun(host, spec);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("service -u 172.16.1.8:53 exists on this host but was not created by cdktf-ipvs");
    expect(r.stderr).not.toContain("service -t 172.16.1.8:1000 exists");
    expect(table(host)).toBe(HAND_MADE);
  });
});

test("adopt on a service that does not exist yet just creates it", () => {
  const host = handMadeHost("");
  const r = applyRun(host, adopted());
  expect(r.code).toBe(0);
  expect(table(host)).toBe(["-A -t 172.16.1.8:1000 -s rr", "-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1", "-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1", ""].join("\n"));
  expect(owned(host)).toBe("-t 172.16.1.8:1000\n");
});
