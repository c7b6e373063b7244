/**
 * lib/model/incremental.ts on its own (no cdktf): the indexes of a valid host vouch for an added
 * object only when the whole host stays valid, and record it only on commit().
 */
import { HostSpec, PathNamer, VirtualServiceSpec, buildDesiredHost } from "../../lib/model";
import { HostIndex } from "../../lib/model/incremental";

const paths = (services: readonly VirtualServiceSpec[]): PathNamer => ({
  host: "lb",
  service: (i) => `lb/${services[i].name}`,
  realServer: (s, i) => `${s}/realServer[${i}]`,
  alias: (s, i) => `${s}/alias[${i}]`,
});

function indexOf(spec: HostSpec): HostIndex {
  return HostIndex.of(spec, buildDesiredHost(spec, paths(spec.virtualServices ?? [])));
}

const base: HostSpec = {
  name: "lb",
  ssh: { host: "10.0.0.1", port: 22 },
  virtualServices: [
    { name: "a", address: "10.0.0.5", port: 80, realServers: [{ address: "10.0.0.7", forwarding: "masquerade" }], aliases: [{ port: 8080 }] },
    { name: "b", fwmark: 3, realServers: [{ address: "10.0.0.7", port: 0, forwarding: "gatewaying" }] },
  ],
};

describe("HostIndex", () => {
  test("a single object's problem comes with the whole build's issue, at the path given", () => {
    const index = indexOf(base);
    const verdict = index.checkRealServer("a", { address: "10.0.0.8", forwarding: "masquerade", weight: -1 }, "lb/a/realServer[1]");
    expect(verdict.ok).toBe(false);
    const whole = (() => {
      const services = [{ ...base.virtualServices![0], realServers: [...base.virtualServices![0].realServers!, { address: "10.0.0.8", forwarding: "masquerade" as const, weight: -1 }] }, base.virtualServices![1]];
      try {
        buildDesiredHost({ ...base, virtualServices: services }, paths(services));
      } catch (e) {
        return (e as { issues: unknown }).issues;
      }
      return undefined;
    })();
    expect(!verdict.ok && verdict.issues).toEqual(whole);
  });

  test("collisions with what the host holds are refused; nothing is recorded before commit()", () => {
    const index = indexOf(base);
    expect(index.checkService({ name: "c", address: "10.0.0.5", port: 80 }, "lb/c").ok).toBe(false); // service key
    expect(index.checkService({ name: "c", address: "10.0.0.5", port: 8080 }, "lb/c").ok).toBe(false); // an alias's port
    expect(index.checkService({ name: "c", fwmark: 3 }, "lb/c").ok).toBe(false);
    expect(index.checkService({ name: "a", address: "10.0.0.5", port: 81 }, "lb/a").ok).toBe(false); // name
    expect(index.checkService({ name: "c", address: "10.0.0.1", port: 22 }, "lb/c").ok).toBe(false); // SSH lockout
    expect(index.checkRealServer("a", { address: "10.0.0.7", port: 80, forwarding: "masquerade" }, "lb/a/realServer[1]").ok).toBe(false); // twice
    expect(index.checkRealServer("a", { address: "10.0.0.8", forwarding: "gatewaying" }, "lb/a/realServer[1]").ok).toBe(false); // a has an alias
    expect(index.checkAlias("a", { port: 8080, method: "dnat" }, "lb/a/alias[1]").ok).toBe(false); // alias port
    expect(index.checkAlias("a", { port: 80 }, "lb/a/alias[1]").ok).toBe(false); // the service's own port
    expect(index.checkAlias("b", { port: 9000 }, "lb/b/alias[0]").ok).toBe(false); // fwmark service

    const c = index.checkService({ name: "c", address: "10.0.0.5", port: 81 }, "lb/c");
    expect(c.ok).toBe(true);
    // Not committed: the same service is still free, and c is unknown to its own adds.
    expect(index.checkService({ name: "c", address: "10.0.0.5", port: 81 }, "lb/c").ok).toBe(true);
    expect(index.checkRealServer("c", { address: "10.0.0.7", forwarding: "masquerade" }, "lb/c/realServer[0]").ok).toBe(false);
    if (c.ok) c.commit();
    expect(index.checkService({ name: "d", address: "10.0.0.5", port: 81 }, "lb/d").ok).toBe(false);
    expect(index.checkAlias("a", { port: 81 }, "lb/a/alias[1]").ok).toBe(false);
    const rs = index.checkRealServer("c", { address: "10.0.0.7", forwarding: "ipip" }, "lb/c/realServer[0]");
    expect(rs.ok).toBe(true);
    if (rs.ok) rs.commit();
    expect(index.checkAlias("c", { port: 9000 }, "lb/c/alias[0]").ok).toBe(false);
    expect(index.checkAlias("a", { port: 9000 }, "lb/a/alias[1]").ok).toBe(true);
  });
});
