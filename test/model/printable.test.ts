/** Messages reach operators' terminals: no user text may carry escape sequences or bidi tricks into them. */
import { IpvsModelError, buildDesiredHost, formatIssue, printable, showValue } from "../../lib/model";
import { seedHost } from "../fixtures";

const CLEAR = "\u001b[2J";
const C1_CSI = "\u009b31m";
const LINE_SEPARATOR = "\u2028";
const RIGHT_TO_LEFT_OVERRIDE = "\u202e";

/** Nothing a terminal would act on, or show reordered. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function thrown(run: () => unknown): IpvsModelError {
  try {
    run();
  } catch (e) {
    if (e instanceof IpvsModelError) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("printable", () => {
  test("when text holds ESC, C1 CSI, U+2028 and U+202E, then each becomes a \\u escape", () => {
    expect(printable(`a${CLEAR}b${C1_CSI}c${LINE_SEPARATOR}d${RIGHT_TO_LEFT_OVERRIDE}e`)).toBe("a\\u001b[2Jb\\u009b31mc\\u2028d\\u202ee");
  });

  test("when text holds DEL, NEL, U+2029, isolates, LRM and a lone surrogate, then those are escaped too", () => {
    expect(printable("\u007f\u0085\u2029\u2066\u2069\u200e\ud800x")).toBe("\\u007f\\u0085\\u2029\\u2066\\u2069\\u200e\\ud800x");
  });

  test("when text is plain, with a backslash or an emoji, then it is unchanged", () => {
    expect(printable('spec.hosts[0]: name "a\\b" 😀 äöü')).toBe('spec.hosts[0]: name "a\\b" 😀 äöü');
  });

  test("when text is overlong, then it is cut at the limit with ..., never inside an escape", () => {
    expect(printable("x".repeat(500))).toBe(`${"x".repeat(197)}...`);
    expect(printable(`${"x".repeat(8)}\u001b`, 12)).toBe(`${"x".repeat(8)}...`);
    expect(printable("x".repeat(500), 20)).toHaveLength(20);
  });
});

describe("showValue", () => {
  test("when a string carries C1, U+2028 or bidi controls (which JSON.stringify leaves), then they are escaped", () => {
    expect(showValue(`${C1_CSI}${LINE_SEPARATOR}${RIGHT_TO_LEFT_OVERRIDE}`)).toBe('"\\u009b31m\\u2028\\u202e"');
  });
  test("when an object holds them, then they are escaped as well", () => {
    expect(showValue({ k: RIGHT_TO_LEFT_OVERRIDE })).toBe('{"k":"\\u202e"}');
  });
});

describe("given user text with terminal escapes in a spec", () => {
  test("when an unknown prop's name carries ESC, then the prop and message show it escaped", () => {
    const e = thrown(() => buildDesiredHost({ ...seedHost(), [`x${CLEAR}`]: 1 }));
    expect(e.issues.map((i) => [i.prop, i.message])).toEqual([
      ["x\\u001b[2J", "x\\u001b[2J 1 is not a known prop; allowed: name, virtualServices, conntrack, expireNodestConn, expireQuiescentTemplate, localAddresses, sysctls, drainTimeoutSeconds, unsafeSysctls, ssh"],
    ]);
    expect(e.message).not.toMatch(UNSAFE);
  });

  test("when a sysctl key carries C1 CSI and U+2028, then the key is escaped", () => {
    const e = thrown(() => buildDesiredHost(seedHost({ sysctls: { [`net.ipv4.vs.x${C1_CSI}${LINE_SEPARATOR}`]: 1 } })));
    expect(e.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'spec.hosts[0]: sysctls["net.ipv4.vs.x\\u009b31m\\u2028"] "net.ipv4.vs.x\\u009b31m\\u2028" is not a sysctl name; allowed: dotted names like net.ipv4.vs.expire_nodest_conn',
    ]);
  });

  test("when a value carries a right-to-left override, then the value is escaped", () => {
    const e = thrown(() => buildDesiredHost(seedHost({ name: `lb${RIGHT_TO_LEFT_OVERRIDE}1` })));
    expect(e.message).toBe('spec.hosts[0]: name "lb\\u202e1" is not a valid name; allowed: 1–63 characters of A–Z a–z 0–9 _ . -, starting with a letter or digit');
  });

  test("when a construct path carries escapes, then formatIssue prints it escaped", () => {
    const paths = { host: `stack/lb${CLEAR}`, service: () => `stack/lb${CLEAR}/app${C1_CSI}`, realServer: (s: string, i: number) => `${s}/rs[${i}]`, alias: (s: string, i: number) => `${s}/alias[${i}]` };
    const e = thrown(() => buildDesiredHost({ name: "lb1", virtualServices: [{ name: "app", address: "172.16.1.8", port: 80 }, { name: "app", address: "172.16.1.8", port: 81 }] }, paths));
    expect(e.issues.map(formatIssue)).toEqual([
      'stack/lb\\u001b[2J/app\\u009b31m: name "app" is already used by stack/lb\\u001b[2J/app\\u009b31m; service names must be unique on a host.',
    ]);
    expect(e.message).not.toMatch(UNSAFE);
  });

  test("when an unknown prop's name is 10,000 characters, then the message stays short", () => {
    const e = thrown(() => buildDesiredHost({ ...seedHost(), ["k".repeat(10000)]: 1 }));
    expect(e.issues[0].prop).toBe(`${"k".repeat(97)}...`);
    expect(e.message.length).toBeLessThan(400);
  });
});
