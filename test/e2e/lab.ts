/**
 * Helpers for e2e tests that run against a real Linux kernel with IPVS: a Debian 12 guest booted
 * under qemu (TCG) by the scripts in lab/. See lab/README.md.
 *
 *   const guest = await LabGuest.boot("my-test");   // builds the image first if needed (cached)
 *   guest.sshOk("ipvsadm -Ln");
 *   await guest.reboot();
 *   guest.stop();
 *
 * Nothing here skips: a host without qemu makes the test fail with a message saying what to install.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const REPO_ROOT = path.resolve(__dirname, "../..");
export const LAB_SCRIPTS = path.join(REPO_ROOT, "lab");
export const LAB_STATE = path.join(REPO_ROOT, ".lab");
export const LAB_KEY = path.join(LAB_STATE, "keys", "id_ed25519");

/** Addresses of the guest-side topology (lab/guest/lab-topology.sh). */
export const TOPOLOGY = {
  lbIPv4: "172.16.1.8",
  lbIPv6: "fd00:16::8",
  clientIPv4: "172.16.1.2",
  clientIPv6: "fd00:16::2",
  clientNetns: "client",
  backendPorts: [1001, 1002],
} as const;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SshOptions {
  /** Data written to the remote command's stdin. */
  input?: string;
  /** Kill ssh after this long (default 120 s). The result then has code -1. */
  timeoutMs?: number;
}

const BUILD_TIMEOUT_MS = 30 * 60 * 1000;
const BOOT_TIMEOUT_MS = 8 * 60 * 1000;

function onPath(cmd: string): boolean {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).concat(["/usr/sbin", "/sbin"]);
  return dirs.some((d) => {
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Throws a clear error when the host cannot run the lab (never skip silently). */
export function assertLabHost(): void {
  const need = ["qemu-system-x86_64", "qemu-img", "ssh", "ssh-keygen", "debootstrap", "mkfs.ext4"];
  const missing = need.filter((c) => !onPath(c));
  if (missing.length > 0) {
    throw new Error(
      `e2e lab: missing host tools: ${missing.join(", ")}. ` +
        `Install them with 'bash lab/install-deps.sh' (as root; Debian packages qemu-system-x86, ` +
        `qemu-utils, debootstrap, e2fsprogs, openssh-client). These tests need a real IPVS kernel ` +
        `and are not skipped.`,
    );
  }
}

function runScript(script: string, args: string[], timeoutMs: number): void {
  const r = spawnSync(path.join(LAB_SCRIPTS, script), args, {
    cwd: REPO_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error || r.status !== 0) {
    throw new Error(
      `lab/${script} ${args.join(" ")} failed (${r.error ? r.error.message : `exit ${r.status}`}):\n` +
        `${r.stdout ?? ""}\n${r.stderr ?? ""}`,
    );
  }
}

/** Async variant, so that jest's timers keep running during long boots. */
function runScriptAsync(script: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(LAB_SCRIPTS, script), args, {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`lab/${script} ${args.join(" ")}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`lab/${script} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

/** Builds the guest image unless .lab/image is up to date (lab/build-image.sh caches by input hash). */
export function ensureImage(): void {
  assertLabHost();
  runScript("build-image.sh", [], BUILD_TIMEOUT_MS);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LabGuest {
  /** Boots (or replaces) the guest NAME on a fresh overlay and waits until SSH and the topology are up. */
  static async boot(name: string): Promise<LabGuest> {
    assertLabHost();
    await runScriptAsync("build-image.sh", [], BUILD_TIMEOUT_MS); // cached: ~0 s when up to date
    runScript("stop.sh", [name, "--kill"], 60_000); // a leftover from an aborted run
    await runScriptAsync("boot.sh", [name], BOOT_TIMEOUT_MS);
    const port = Number(fs.readFileSync(path.join(LAB_STATE, "run", name, "port"), "utf8").trim());
    if (!Number.isInteger(port) || port <= 0) throw new Error(`lab: bad port file for guest ${name}`);
    return new LabGuest(name, port);
  }

  readonly host = "127.0.0.1";
  readonly user = "root";
  readonly privateKeyPath = LAB_KEY;

  private constructor(
    readonly name: string,
    readonly sshPort: number,
  ) {}

  /** The private key's text (for a Terraform connection block). */
  privateKey(): string {
    return fs.readFileSync(this.privateKeyPath, "utf8");
  }

  /** Runs CMD (a shell command line) as root in the guest. Never throws on a non-zero exit. */
  ssh(cmd: string, opts: SshOptions = {}): ExecResult {
    const r = spawnSync(path.join(LAB_SCRIPTS, "ssh.sh"), [this.name, cmd], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      input: opts.input ?? "",
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) {
      return { code: -1, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}\n${r.error.message}` };
    }
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  /** Like ssh() but throws (with stderr and stdout) unless the command exits 0; returns stdout. */
  sshOk(cmd: string, opts: SshOptions = {}): string {
    const r = this.ssh(cmd, opts);
    if (r.code !== 0) {
      throw new Error(`[lab ${this.name}] '${cmd}' exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
    }
    return r.stdout;
  }

  bootId(): string {
    return this.sshOk("cat /proc/sys/kernel/random/boot_id", { timeoutMs: 30_000 }).trim();
  }

  isRunning(): boolean {
    const pidFile = path.join(LAB_STATE, "run", this.name, "qemu.pid");
    try {
      const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Last lines of the guest's serial console (for failure messages). */
  consoleTail(lines = 40): string {
    try {
      const text = fs.readFileSync(path.join(LAB_STATE, "run", this.name, "console.log"), "utf8");
      return text.split("\n").slice(-lines).join("\n");
    } catch {
      return "(no console log)";
    }
  }

  /**
   * Reboots the guest (`systemctl reboot`) and waits until a NEW boot answers SSH with the lab
   * topology up. The old system may still answer SSH for a moment, hence the boot_id check.
   */
  async reboot(timeoutMs = 5 * 60 * 1000): Promise<void> {
    const before = this.bootId();
    this.ssh("nohup sh -c 'sleep 1; systemctl reboot || reboot' >/dev/null 2>&1 &", { timeoutMs: 20_000 });
    await this.waitForNewBoot(before, timeoutMs);
  }

  /** Waits until the guest's boot_id differs from BEFORE and the topology services are active. */
  async waitForNewBoot(before: string, timeoutMs = 5 * 60 * 1000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.isRunning()) throw new Error(`[lab ${this.name}] qemu died during reboot:\n${this.consoleTail()}`);
      const r = this.ssh(
        "cat /proc/sys/kernel/random/boot_id && systemctl is-active --quiet lab-topology.service lab-backends.service",
        { timeoutMs: 20_000 },
      );
      if (r.code === 0 && r.stdout.trim() !== before) return;
      await sleep(3000);
    }
    throw new Error(`[lab ${this.name}] no new boot within ${timeoutMs / 1000}s:\n${this.consoleTail()}`);
  }

  /** Stops qemu and discards the overlay. clean=true powers the guest off first (slower). */
  stop(opts: { clean?: boolean } = {}): void {
    runScript("stop.sh", opts.clean ? [this.name] : [this.name, "--kill"], 120_000);
  }
}
