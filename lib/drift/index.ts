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

export class DriftCheckError extends Error {}

export function checkDrift(host: DesiredHost, runner: HostRunner): DriftReport {
  const verify = renderHost(planHost(host)).scripts["verify.sh"];
  const r = runner.run(verify);
  const differences = r.stdout
    .split("\n")
    .map((l) => /\[verify\] DRIFT: (.*)$/.exec(l)?.[1])
    .filter((d): d is string => d !== undefined);
  // verify.sh exits 0 in sync, 1 with DRIFT lines; anything else means it could not check.
  if (r.code === 0 && differences.length === 0) return { host: host.name, inSync: true, differences };
  if (r.code === 1 && differences.length > 0) return { host: host.name, inSync: false, differences };
  throw new DriftCheckError(`verify.sh on ${host.name} could not check the host (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
}
