/**
 * Running a real Terraform from the construct tests. Tests that need it fail (never skip) when
 * terraform is missing: what they prove is only proved by Terraform itself.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function requireTerraform(): void {
  const r = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error("terraform is not on PATH; these tests run a real terraform (install Terraform >= 1.4)");
}

export const TF_ENV = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };

export interface TfResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs terraform in dir; never throws, so a test can assert on a failure. */
export function tf(dir: string, args: string[]): TfResult {
  const r = spawnSync("terraform", args, { cwd: dir, env: TF_ENV, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs terraform in dir and returns stdout; throws with Terraform's output when it fails. */
export function tfOk(dir: string, args: string[]): string {
  const r = tf(dir, args);
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")} failed (exit ${r.status}) in ${dir}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
