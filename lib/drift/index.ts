/**
 * Live-host drift, checked from outside: render verify.sh from the same model and run it on the
 * host over a small runner interface (SSH in production, a fake in unit tests). verify.sh compares
 * the kernel's state (ipvsadm, iptables, /proc/sys) and our persistence files with the desired
 * state and prints one DRIFT line per difference; this turns that into a report for CI.
 */
import { spawnSync } from "child_process";
import { DesiredHost } from "../model";
import { planHost } from "../plan";
import { renderHost } from "../render";
import { VERIFY_OK_TEXT } from "../render/scripts";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a POSIX sh script as root on the load balancer. */
export interface HostRunner {
  run(script: string): RunResult;
}

export interface SshTarget {
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
  /** Skip host key checks; only for throw-away hosts such as the test lab. @default false */
  readonly noHostKeyCheck?: boolean;
}

/** Parses `user@host:port` (user and port optional; IPv6 hosts in brackets). */
export function parseSshTarget(text: string): SshTarget {
  const m = /^(?:([a-z_][a-z0-9_-]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new Error(`--ssh "${text}" is not [user@]host[:port]`);
  return { user: m[1] ?? "root", host: m[2].replace(/^\[|\]$/g, ""), port: m[3] ? Number(m[3]) : 22 };
}

export class SshRunner implements HostRunner {
  constructor(private readonly target: SshTarget) {}

  run(script: string): RunResult {
    const t = this.target;
    const args = ["-p", String(t.port ?? 22), "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"];
    if (t.identityFile) args.push("-i", t.identityFile);
    if (t.noHostKeyCheck) args.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR");
    args.push(`${t.user ?? "root"}@${t.host}`, "sh -s");
    const r = spawnSync("ssh", args, { input: script, encoding: "utf8", timeout: 300_000, maxBuffer: 16 << 20 });
    if (r.error) return { code: -1, stdout: r.stdout ?? "", stderr: r.error.message };
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }
}

export interface DriftReport {
  readonly host: string;
  readonly inSync: boolean;
  /** One entry per difference, as verify.sh names it. */
  readonly differences: readonly string[];
}

/** verify.sh could not tell whether the host is in sync (no SSH, no root, a banner but no verify run, ...). */
export class DriftCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DriftCheckError";
  }
}

/**
 * Runs verify.sh on the host and reads its answer. In sync only when verify.sh itself said so:
 * exit 0, its success line (`cdktf-ipvs <host> [verify] OK: ...`) on stdout and no DRIFT line.
 * Drift: exit 1 with at least one DRIFT line and no success line. Anything else — another exit
 * code, exit 0 without the success line (e.g. an SSH answer that is only a banner), exit 1
 * without DRIFT lines — throws DriftCheckError: the host could not be checked.
 */
export function checkDrift(host: DesiredHost, runner: HostRunner): DriftReport {
  const verify = renderHost(planHost(host)).scripts["verify.sh"];
  const r = runner.run(verify);
  const prefix = `cdktf-ipvs ${host.name} [verify] `;
  const lines = String(r.stdout ?? "")
    .split("\n")
    .map((l) => l.replace(/\r$/, ""));
  const differences = lines.filter((l) => l.startsWith(`${prefix}DRIFT: `)).map((l) => l.slice(`${prefix}DRIFT: `.length));
  const saidOk = lines.includes(`${prefix}${VERIFY_OK_TEXT}`);
  if (r.code === 0 && saidOk && differences.length === 0) return { host: host.name, inSync: true, differences };
  if (r.code === 1 && differences.length > 0 && !saidOk) return { host: host.name, inSync: false, differences };
  const why =
    r.code === 0 && !saidOk
      ? `exit 0 but verify.sh's "${VERIFY_OK_TEXT}" line never came back, so it did not run to the end`
      : `exit ${r.code}${differences.length > 0 ? `, ${differences.length} DRIFT line(s)` : ""}${saidOk ? ", and the OK line" : ""}`;
  const output = (String(r.stderr ?? "") || String(r.stdout ?? "")).trim().slice(-2000);
  throw new DriftCheckError(`verify.sh on ${host.name} could not check the host (${why})${output ? `: ${output}` : ""}`);
}
