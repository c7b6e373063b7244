/**
 * Live-host drift, checked from outside: render verify.sh from the same model and run it on the
 * host over a small runner interface (SSH in production, a fake in unit tests). verify.sh compares
 * the kernel's state (ipvsadm, iptables, /proc/sys) and our persistence files with the desired
 * state and prints one DRIFT line per difference; this turns that into a report for CI.
 *
 * The host preview works the same way: apply.sh --dry-run, rendered from the same model, prints
 * one CHANGE line per change an apply would make and a DONE line with the count; previewHost
 * turns that into a report.
 */
import { spawnSync } from "child_process";
import { DesiredHost } from "../model";
import { planHost } from "../plan";
import { installAndApplyScript, renderHost } from "../render";
import { PREVIEW_CHANGE_TEXT, PREVIEW_DONE_TEXT, PREVIEW_PENDING_EXIT, VERIFY_OK_TEXT } from "../render/scripts";
import { shQuote } from "../render/shell";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a POSIX sh script as root on the load balancer (`sh -s -- ARGS` with the script on stdin). */
export interface HostRunner {
  run(script: string, args?: readonly string[]): RunResult;
}

export interface SshTarget {
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
  /** Skip host key checks (target and jump host); only for throw-away hosts such as the test lab. @default false */
  readonly noHostKeyCheck?: boolean;
  /** Run the script through `sudo -n` (a non-root login with passwordless sudo), as connection.become does. @default root login, no sudo */
  readonly become?: "sudo";
  /** Reach the host through this SSH jump host (a bastion), with the same identity file. @default direct */
  readonly jump?: SshTarget;
}

/** Parses `user@host:port` (user and port optional; IPv6 hosts in brackets). */
export function parseSshTarget(text: string): SshTarget {
  const m = /^(?:([a-z_][a-z0-9_-]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new Error(`--ssh "${text}" is not [user@]host[:port]`);
  return { user: m[1] ?? "root", host: m[2].replace(/^\[|\]$/g, ""), port: m[3] ? Number(m[3]) : 22 };
}

/** The ssh options for one hop: port, batch mode, identity, host key checking. */
function sshOptions(t: SshTarget): string[] {
  const options = ["-p", String(t.port ?? 22), "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"];
  if (t.identityFile) options.push("-i", t.identityFile);
  if (t.noHostKeyCheck) options.push("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR");
  return options;
}

export class SshRunner implements HostRunner {
  /** @param program the ssh client (tests pass a fake) */
  constructor(
    private readonly target: SshTarget,
    private readonly program = "ssh",
  ) {}

  run(script: string, args: readonly string[] = []): RunResult {
    const t = this.target;
    const sshArgs = [...sshOptions(t)];
    if (t.jump) {
      // ProxyCommand rather than -J: -J would not use our identity file for the jump host. ssh runs
      // the command with the user's shell, so every word is quoted, and expands % tokens first, so
      // a % of ours is doubled; %h:%p is ssh's own (the target's host and port).
      const jump = { ...t.jump, identityFile: t.identityFile, noHostKeyCheck: t.noHostKeyCheck };
      const words = [this.program, ...sshOptions(jump), "-W", "%h:%p", `${jump.user ?? "root"}@${jump.host}`];
      const proxy = words.map((w) => (w === "%h:%p" ? w : shQuote(w.replace(/%/g, "%%")))).join(" ");
      sshArgs.push("-o", `ProxyCommand=${proxy}`);
    }
    // ssh hands the remote shell one command line: the arguments are quoted for it.
    const sh = args.length > 0 ? `sh -s -- ${args.map(shQuote).join(" ")}` : "sh -s";
    const remote = t.become === "sudo" ? `sudo -n ${sh}` : sh;
    sshArgs.push(`${t.user ?? "root"}@${t.host}`, remote);
    const r = spawnSync(this.program, sshArgs, { input: script, encoding: "utf8", timeout: 300_000, maxBuffer: 16 << 20 });
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
  const lines = taggedLines(r, host.name, "verify");
  const differences = lines.filter((l) => l.startsWith("DRIFT: ")).map((l) => l.slice("DRIFT: ".length));
  const saidOk = lines.includes(VERIFY_OK_TEXT);
  if (r.code === 0 && saidOk && differences.length === 0) return { host: host.name, inSync: true, differences };
  if (r.code === 1 && differences.length > 0 && !saidOk) return { host: host.name, inSync: false, differences };
  const why =
    r.code === 0 && !saidOk
      ? `exit 0 but verify.sh's "${VERIFY_OK_TEXT}" line never came back, so it did not run to the end`
      : `exit ${r.code}${differences.length > 0 ? `, ${differences.length} DRIFT line(s)` : ""}${saidOk ? ", and the OK line" : ""}`;
  throw new DriftCheckError(`verify.sh on ${host.name} could not check the host (${why})${outputTail(r)}`);
}

/** The lines the host's script logged as `cdktf-ipvs <host> [<tag>] ...`, without that prefix. */
function taggedLines(r: RunResult, host: string, tag: string): string[] {
  const prefix = `cdktf-ipvs ${host} [${tag}] `;
  return String(r.stdout ?? "")
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

/** `: <the end of what the host said>` for an error message (stderr first), or nothing. */
function outputTail(r: RunResult): string {
  const output = (String(r.stderr ?? "") || String(r.stdout ?? "")).trim().slice(-2000);
  return output ? `: ${output}` : "";
}

/** One change a preview names: the step that makes it and what it does. */
export interface PreviewChange {
  readonly step: string;
  readonly change: string;
}

export interface PreviewReport {
  readonly host: string;
  /** Changes an apply would make now; 0 when the host already matches. */
  readonly pending: number;
  readonly changes: readonly PreviewChange[];
}

/** apply.sh --dry-run could not tell what would change (no SSH, no root, an apply that would fail, ...). */
export class PreviewCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreviewCheckError";
  }
}

/**
 * Runs apply.sh --dry-run, rendered from the same model as the apply, on the host and reads its
 * answer. A preview counts only when the script ran to its end: exactly one DONE line
 * (`cdktf-ipvs <host> [preview] DONE: N change(s) pending`), as many CHANGE lines as it counts,
 * and exit 0 with N = 0 or exit 3 with N > 0. Anything else throws PreviewCheckError. The
 * preview writes nothing on the host (see apply.sh's preview()).
 */
export function previewHost(host: DesiredHost, runner: HostRunner): PreviewReport {
  const apply = renderHost(planHost(host)).scripts["apply.sh"];
  const r = runner.run(apply, ["--dry-run"]);
  return readPreview(host.name, r);
}

/** Reads what apply.sh --dry-run answered for HOST; throws PreviewCheckError unless it is a whole preview. */
export function readPreview(host: string, r: RunResult): PreviewReport {
  const changes: PreviewChange[] = [];
  const counts: number[] = [];
  const change = new RegExp(`^([a-z]+) ${PREVIEW_CHANGE_TEXT}(.*)$`);
  const done = new RegExp(`^${PREVIEW_DONE_TEXT}(\\d+) change\\(s\\) pending$`);
  for (const rest of taggedLines(r, host, "preview")) {
    const c = change.exec(rest);
    if (c) changes.push({ step: c[1], change: c[2] });
    const d = done.exec(rest);
    if (d) counts.push(Number(d[1]));
  }
  const pending = counts.length === 1 ? counts[0] : undefined;
  if (pending !== undefined && pending === changes.length) {
    if (r.code === 0 && pending === 0) return { host, pending, changes };
    if (r.code === PREVIEW_PENDING_EXIT && pending > 0) return { host, pending, changes };
  }
  const why =
    counts.length === 0
      ? `exit ${r.code} without the "${PREVIEW_DONE_TEXT}N change(s) pending" line, so it did not run to the end`
      : counts.length > 1
        ? `exit ${r.code} with ${counts.length} DONE lines`
        : `exit ${r.code}, ${changes.length} CHANGE line(s) but "${PREVIEW_DONE_TEXT}${pending} change(s) pending"`;
  throw new PreviewCheckError(`apply.sh --dry-run on ${host} could not preview the host (${why})${outputTail(r)}`);
}

export interface FixReport {
  readonly host: string;
  /** What verify.sh found before the fix. */
  readonly before: DriftReport;
  /** apply.sh's log lines, when it ran (nothing when the host was in sync). */
  readonly applied: readonly string[];
  /** What verify.sh found after the fix. */
  readonly after: DriftReport;
}

/**
 * `drift --fix`: verify; when the host drifted, install and run the whole apply.sh rendered from
 * the same model (the idempotent apply a deploy runs), then verify again. An apply that fails is
 * a DriftCheckError, with its output.
 */
export function fixDrift(host: DesiredHost, runner: HostRunner): FixReport {
  const before = checkDrift(host, runner);
  if (before.inSync) return { host: host.name, before, applied: [], after: before };
  const r = runner.run(installAndApplyScript(renderHost(planHost(host)).scripts["apply.sh"]));
  if (r.code !== 0) throw new DriftCheckError(`apply.sh on ${host.name} failed (exit ${r.code}), so the drift was not fixed${outputTail(r)}`);
  const applied = String(r.stdout ?? "").split("\n").filter((l) => l.trim() !== "");
  return { host: host.name, before, applied, after: checkDrift(host, runner) };
}

