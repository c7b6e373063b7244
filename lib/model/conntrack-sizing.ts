/**
 * Sizing net.netfilter.nf_conntrack_max for a load balancer with net.ipv4.vs.conntrack=1 (which
 * the aliases need): then every connection IPVS forwards also holds a conntrack entry, and a full
 * table drops new connections. verify.sh warns once the table is more than 80% full
 * (CONNTRACK_WARN_PERCENT); conntrackMaxFor picks a value that keeps the expected peak below that
 * line.
 */

/** verify.sh warns when nf_conntrack_count is more than this percentage of nf_conntrack_max. */
export const CONNTRACK_WARN_PERCENT = 80;
/** nf_conntrack_tcp_timeout_time_wait's kernel default, in seconds. */
export const DEFAULT_TIME_WAIT_SECONDS = 120;
/** The default headroom factor on the expected peak. */
export const DEFAULT_CONNTRACK_HEADROOM = 1.25;
/** conntrackMaxFor never suggests less: the table also tracks the host's own traffic (SSH, DNS...). */
export const CONNTRACK_MAX_FLOOR = 65536;
/** The largest value the kernel accepts (an int sysctl). */
export const CONNTRACK_MAX_CEILING = 2147483647;

/** The expected peak load that {@link conntrackMaxFor} sizes nf_conntrack_max for. */
export interface ConntrackSizing {
  /** Connections open at the same time at the expected peak (established, through IPVS). An integer ≥ 1. */
  readonly concurrentConnections: number;
  /**
   * New connections per second at the peak. Each closed TCP connection keeps its conntrack entry
   * for timeWaitSeconds, so these add newConnectionsPerSecond × timeWaitSeconds entries. ≥ 0.
   * @default 0
   */
  readonly newConnectionsPerSecond?: number;
  /**
   * How long a closed connection's entry stays: the host's
   * net.netfilter.nf_conntrack_tcp_timeout_time_wait. 0–86400.
   * @default 120 (the kernel's default)
   */
  readonly timeWaitSeconds?: number;
  /**
   * Factor on the expected peak for growth, bursts and the host's other traffic; the result keeps
   * peak × headroom under the 80% warning line. 1–100.
   * @default 1.25
   */
  readonly headroom?: number;
}

function check(name: string, v: unknown, min: number, max: number, integer: boolean): number {
  const kind = integer ? "an integer" : "a number";
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new TypeError(`conntrackMaxFor: ${name} must be ${kind} from ${min} to ${max}; got ${typeof v === "number" ? v : JSON.stringify(v) ?? String(v)}`);
  }
  if (v < min || v > max) throw new RangeError(`conntrackMaxFor: ${name} must be ${kind} from ${min} to ${max}; got ${v}`);
  return v;
}

/** N rounded up to two significant digits: 343750 → 350000, 1234 → 1300. */
function roundUpTwoDigits(n: number): number {
  if (n <= 100) return Math.ceil(n);
  const step = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.ceil(n / step) * step;
}

/**
 * A value for net.netfilter.nf_conntrack_max so that the expected peak of conntrack entries,
 * times the headroom, stays under verify.sh's 80% warning line:
 *
 *   peak = concurrentConnections + newConnectionsPerSecond × timeWaitSeconds
 *   value = peak × headroom / 0.8, rounded up to two significant digits, at least 65536
 *
 * e.g. conntrackMaxFor({ concurrentConnections: 100000, newConnectionsPerSecond: 1000 }) is
 * 350000 (peak 220000). Use it in the host's sysctls:
 * `sysctls: { "net.netfilter.nf_conntrack_max": conntrackMaxFor({ ... }) }`. Each entry costs
 * kernel memory (a few hundred bytes); and when the host already has a larger value, keep that.
 * Throws a TypeError or RangeError naming the input when one is not a number in its range, or
 * when the result would exceed what the kernel accepts (2147483647).
 */
export function conntrackMaxFor(sizing: ConntrackSizing): number {
  if (typeof sizing !== "object" || sizing === null) {
    throw new TypeError("conntrackMaxFor: expected { concurrentConnections, newConnectionsPerSecond?, timeWaitSeconds?, headroom? }");
  }
  const known = ["concurrentConnections", "newConnectionsPerSecond", "timeWaitSeconds", "headroom"];
  const unknown = Object.keys(sizing).filter((k) => !known.includes(k) && (sizing as unknown as Record<string, unknown>)[k] !== undefined);
  if (unknown.length > 0) throw new TypeError(`conntrackMaxFor: unknown input ${unknown.join(", ")}; allowed: ${known.join(", ")}`);
  const concurrent = check("concurrentConnections", sizing.concurrentConnections, 1, CONNTRACK_MAX_CEILING, true);
  const rate = check("newConnectionsPerSecond", sizing.newConnectionsPerSecond ?? 0, 0, CONNTRACK_MAX_CEILING, false);
  const timeWait = check("timeWaitSeconds", sizing.timeWaitSeconds ?? DEFAULT_TIME_WAIT_SECONDS, 0, 86400, false);
  const headroom = check("headroom", sizing.headroom ?? DEFAULT_CONNTRACK_HEADROOM, 1, 100, false);
  const peak = concurrent + rate * timeWait;
  const value = Math.max(CONNTRACK_MAX_FLOOR, roundUpTwoDigits((peak * headroom * 100) / CONNTRACK_WARN_PERCENT));
  if (value > CONNTRACK_MAX_CEILING) {
    throw new RangeError(
      `conntrackMaxFor: ${Math.ceil(peak)} expected entries need nf_conntrack_max ${value}, more than the kernel accepts (${CONNTRACK_MAX_CEILING}); spread the load over more hosts`,
    );
  }
  return value;
}
