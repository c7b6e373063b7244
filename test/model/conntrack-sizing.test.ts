/** conntrackMaxFor: expected load → net.netfilter.nf_conntrack_max below verify's 80% warning line. */
import * as lib from "../../lib";
import { CONNTRACK_MAX_FLOOR, CONNTRACK_WARN_PERCENT, ConntrackSizing, conntrackMaxFor } from "../../lib/model";

describe("conntrackMaxFor", () => {
  test("the documented example: 100000 concurrent, 1000 new/s, TIME_WAIT 120 s → peak 220000 → 350000", () => {
    expect(conntrackMaxFor({ concurrentConnections: 100000, newConnectionsPerSecond: 1000 })).toBe(350000);
  });

  test("peak × headroom / 0.8, rounded up to two significant digits", () => {
    // 200000 × 1.25 / 0.8 = 312500 → 320000
    expect(conntrackMaxFor({ concurrentConnections: 200000 })).toBe(320000);
    // headroom 1: 200000 / 0.8 = 250000 exactly
    expect(conntrackMaxFor({ concurrentConnections: 200000, headroom: 1 })).toBe(250000);
    // 1000000 + 5000 × 60 = 1300000; × 2 / 0.8 = 3250000 → 3300000
    expect(conntrackMaxFor({ concurrentConnections: 1000000, newConnectionsPerSecond: 5000, timeWaitSeconds: 60, headroom: 2 })).toBe(3300000);
  });

  test.each<[ConntrackSizing]>([
    [{ concurrentConnections: 1 }],
    [{ concurrentConnections: 52000, newConnectionsPerSecond: 37.5 }],
    [{ concurrentConnections: 123457, newConnectionsPerSecond: 999, timeWaitSeconds: 30, headroom: 1 }],
    [{ concurrentConnections: 7654321, newConnectionsPerSecond: 12345, headroom: 1.1 }],
    [{ concurrentConnections: 60000, timeWaitSeconds: 0, headroom: 3 }],
  ])("the expected peak × headroom stays at or under 80%% of the result, which is an integer ≥ 65536: %j", (sizing) => {
    const max = conntrackMaxFor(sizing);
    expect(Number.isInteger(max)).toBe(true);
    expect(max).toBeGreaterThanOrEqual(CONNTRACK_MAX_FLOOR);
    const peak = sizing.concurrentConnections + (sizing.newConnectionsPerSecond ?? 0) * (sizing.timeWaitSeconds ?? 120);
    expect(peak * (sizing.headroom ?? 1.25) * 100).toBeLessThanOrEqual(max * CONNTRACK_WARN_PERCENT);
    // Rounded up by less than 10% (two significant digits), unless the floor decided.
    if (max > CONNTRACK_MAX_FLOOR) {
      expect(max).toBeLessThan(((peak * (sizing.headroom ?? 1.25)) / 0.8) * 1.1);
      expect(String(max)).toMatch(/^\d\d0*$/);
    }
  });

  test("a small load still gets 65536: the table also tracks the host's own traffic", () => {
    expect(conntrackMaxFor({ concurrentConnections: 100 })).toBe(65536);
  });

  test.each<[unknown, string]>([
    [{}, "conntrackMaxFor: concurrentConnections must be an integer from 1 to 2147483647; got undefined"],
    [{ concurrentConnections: 0 }, "conntrackMaxFor: concurrentConnections must be an integer from 1 to 2147483647; got 0"],
    [{ concurrentConnections: 1.5 }, "conntrackMaxFor: concurrentConnections must be an integer from 1 to 2147483647; got 1.5"],
    [{ concurrentConnections: "1000" }, 'conntrackMaxFor: concurrentConnections must be an integer from 1 to 2147483647; got "1000"'],
    [{ concurrentConnections: NaN }, "conntrackMaxFor: concurrentConnections must be an integer from 1 to 2147483647; got NaN"],
    [{ concurrentConnections: 10, newConnectionsPerSecond: -1 }, "conntrackMaxFor: newConnectionsPerSecond must be a number from 0 to 2147483647; got -1"],
    [{ concurrentConnections: 10, timeWaitSeconds: 100000 }, "conntrackMaxFor: timeWaitSeconds must be a number from 0 to 86400; got 100000"],
    [{ concurrentConnections: 10, headroom: 0.5 }, "conntrackMaxFor: headroom must be a number from 1 to 100; got 0.5"],
    [{ concurrentConnections: 10, headroom: Infinity }, "conntrackMaxFor: headroom must be a number from 1 to 100; got Infinity"],
    [{ concurrentConnections: 10, connections: 5 }, "conntrackMaxFor: unknown input connections; allowed: concurrentConnections, newConnectionsPerSecond, timeWaitSeconds, headroom"],
    [null, "conntrackMaxFor: expected { concurrentConnections, newConnectionsPerSecond?, timeWaitSeconds?, headroom? }"],
    [{ concurrentConnections: 2000000000 }, "conntrackMaxFor: 2000000000 expected entries need nf_conntrack_max 3200000000, more than the kernel accepts (2147483647); spread the load over more hosts"],
  ])("refuses %j with a clear error", (sizing, message) => {
    expect(() => conntrackMaxFor(sizing as never)).toThrow(message);
  });

  test("is exported from the package entry", () => {
    expect(lib.conntrackMaxFor).toBe(conntrackMaxFor);
  });
});
