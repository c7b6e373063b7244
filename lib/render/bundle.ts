/**
 * The host's three scripts as one upload: a ustar archive, gzipped, base64 on one line. The
 * scripts share most of their text (settings, the desired state, the IPVS diff), so one gzip
 * stream over all three is a fraction of their size: cdk.tf.json carries each host's scripts
 * once, compressed. The upload step unpacks it on the host with base64, tar and gzip (all
 * Essential on Debian, and in busybox) and checks each script's sha256 before any step runs it.
 *
 * Deterministic: fixed header fields, gzip header without time or OS, so the same scripts always
 * give the same text.
 */
import { gunzipSync, gzipSync } from "zlib";
import { SCRIPT_NAMES, ScriptName } from "./commands";
import { HostScripts } from "./scripts";

const BLOCK = 512;
/** 2025-01-01T00:00:00Z: a fixed time, so the archive does not change from run to run. */
const MTIME = 1735689600;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name: string, size: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, "utf8");
  h.write(octal(0o600, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii");
  h.write(octal(0, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(MTIME, 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write("0", 156, "ascii");
  h.write("ustar\u000000", 257, "ascii");
  h.write("root", 265, "ascii");
  h.write("root", 297, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** The scripts as base64 of a gzipped ustar archive (apply.sh, verify.sh, destroy.sh). */
export function bundleScripts(scripts: HostScripts): string {
  const parts: Buffer[] = [];
  for (const name of SCRIPT_NAMES) {
    const data = Buffer.from(scripts[name], "utf8");
    parts.push(header(name, data.length), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK, 0));
  }
  parts.push(Buffer.alloc(2 * BLOCK, 0));
  const gz = gzipSync(Buffer.concat(parts), { level: 9 });
  gz[9] = 255; // OS: unknown (zlib writes the build platform's, which differs between machines)
  return gz.toString("base64");
}

/**
 * The scripts in a bundle (for plan-time checks). Throws an Error saying what is wrong when the
 * text is not a bundle of ours.
 */
export function readBundle(text: string): Partial<Record<ScriptName, string>> {
  if (!/^[A-Za-z0-9+/]*={0,2}\s*$/.test(text)) throw new Error("the upload is not base64");
  let tar: Buffer;
  try {
    tar = gunzipSync(Buffer.from(text, "base64"));
  } catch (e) {
    throw new Error(`the upload is not gzip data: ${(e as Error).message}`);
  }
  const out: Partial<Record<ScriptName, string>> = {};
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(h.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8);
    if (!Number.isFinite(size) || size < 0 || at + BLOCK + size > tar.length) throw new Error(`the upload's archive entry ${JSON.stringify(name)} is cut short`);
    const script = SCRIPT_NAMES.find((n) => n === name);
    if (script) out[script] = tar.subarray(at + BLOCK, at + BLOCK + size).toString("utf8");
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
