/**
 * `render --out DIR`, written so that a run either replaces the renders of all hosts or changes
 * nothing, and never writes through a symbolic link:
 *
 * 1. Every host is rendered in memory first (the caller does this).
 * 2. Each DIR/<host> that exists must be a real directory (lstat, not a symlink) carrying a
 *    manifest.json we wrote for that host; a symlink, a file or a foreign folder stops the run
 *    before anything is written.
 * 3. Everything is written into a fresh folder made with mkdtemp inside DIR, each file created
 *    with flag "wx" (fails instead of following or overwriting anything).
 * 4. Host folders are moved into place with rename; an old render is moved aside first and put
 *    back if a later move fails.
 * 5. Folders of hosts no longer in the spec are removed, only when they carry our manifest.json.
 *
 * The temporary folder is removed in every case.
 */
import * as fs from "fs";
import * as path from "path";

export const MANIFEST_FILE = "manifest.json";
const TMP_PREFIX = ".cdktf-ipvs-render-";
const MAX_MANIFEST_BYTES = 4 << 20;

/** What to write for one host: file name → content; scripts are made executable. */
export interface HostFiles {
  readonly host: string;
  readonly planHash: string;
  readonly files: Readonly<Record<string, string>>;
}

/** A refusal or failure of `render --out`; the CLI prints it and exits 2. */
export class RenderOutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenderOutError";
  }
}

/** Seams for tests: rename is where a failure halfway through the moves would happen. */
export interface RenderOutFs {
  rename(from: string, to: string): void;
}
const REAL_FS: RenderOutFs = { rename: (from, to) => fs.renameSync(from, to) };

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const errCode = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

type Existing = { kind: "none" } | { kind: "ours" } | { kind: "foreign"; why: string };

/**
 * What is at DIR/<name>: nothing, a render we wrote for host <name>, or something else. Never
 * follows a symbolic link, neither for the folder nor for its manifest.json.
 */
export function inspectHostFolder(dir: string, name: string): Existing {
  const folder = path.join(dir, name);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(folder);
  } catch (e) {
    if (errCode(e) === "ENOENT") return { kind: "none" };
    return { kind: "foreign", why: `cannot be inspected: ${errText(e)}` };
  }
  if (st.isSymbolicLink()) return { kind: "foreign", why: "is a symbolic link" };
  if (!st.isDirectory()) return { kind: "foreign", why: "exists and is not a directory" };
  const file = path.join(folder, MANIFEST_FILE);
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const fst = fs.fstatSync(fd);
      if (!fst.isFile()) return { kind: "foreign", why: `has a ${MANIFEST_FILE} that is not a regular file` };
      if (fst.size > MAX_MANIFEST_BYTES) return { kind: "foreign", why: `has a ${MANIFEST_FILE} too large to be ours` };
      text = fs.readFileSync(fd, "utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (errCode(e) === "ENOENT") return { kind: "foreign", why: `is a folder without our ${MANIFEST_FILE}` };
    if (errCode(e) === "ELOOP") return { kind: "foreign", why: `has a ${MANIFEST_FILE} that is a symbolic link` };
    return { kind: "foreign", why: `has a ${MANIFEST_FILE} that cannot be read: ${errText(e)}` };
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    return { kind: "foreign", why: `has a ${MANIFEST_FILE} that is not JSON` };
  }
  const m = manifest as { host?: unknown; planHash?: unknown } | null;
  if (typeof m !== "object" || m === null || Array.isArray(m) || typeof m.planHash !== "string" || !/^[0-9a-f]{64}$/.test(m.planHash)) {
    return { kind: "foreign", why: `has a ${MANIFEST_FILE} that cdktf-ipvs did not write (no host/planHash)` };
  }
  if (m.host !== name) return { kind: "foreign", why: `has a ${MANIFEST_FILE} for host ${JSON.stringify(m.host)}, not ${JSON.stringify(name)}` };
  return { kind: "ours" };
}

function ensureOutDir(outDir: string): void {
  try {
    fs.mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new RenderOutError(`cannot create --out ${outDir}: ${errText(e)}`);
  }
  // The folder the user named may itself be a symlink to a folder: their choice. It must be a folder.
  let st: fs.Stats;
  try {
    st = fs.statSync(outDir);
  } catch (e) {
    throw new RenderOutError(`cannot use --out ${outDir}: ${errText(e)}`);
  }
  if (!st.isDirectory()) throw new RenderOutError(`--out ${outDir} is not a directory`);
}

function writeHost(folder: string, host: HostFiles): void {
  fs.mkdirSync(folder);
  for (const [name, content] of Object.entries(host.files)) {
    const executable = name.endsWith(".sh");
    fs.writeFileSync(path.join(folder, name), content, { flag: "wx", mode: executable ? 0o755 : 0o644 });
  }
}

export interface RenderOutResult {
  /** Host folders written (absolute as given: DIR/<host>). */
  readonly written: readonly string[];
  /** Folders of hosts no longer in the spec that were removed. */
  readonly removed: readonly string[];
}

/**
 * Writes DIR/<host>/ for every host, all or nothing (see the file comment). Throws
 * RenderOutError, with DIR as it was, when any target is not ours or a write or move fails.
 */
export function writeHostFolders(hosts: readonly HostFiles[], outDir: string, fsOps: RenderOutFs = REAL_FS): RenderOutResult {
  // Refuse before anything is created when a target is not ours.
  const outExists = fs.existsSync(outDir);
  if (outExists && !fs.statSync(outDir).isDirectory()) throw new RenderOutError(`--out ${outDir} is not a directory`);
  const refusals: string[] = [];
  for (const h of hosts) {
    const e: Existing = outExists ? inspectHostFolder(outDir, h.host) : { kind: "none" };
    if (e.kind === "foreign") refusals.push(`${path.join(outDir, h.host)} ${e.why}`);
  }
  if (refusals.length > 0) {
    throw new RenderOutError(
      `render --out: refusing to replace what cdktf-ipvs did not write; nothing was changed:\n${refusals.map((r) => `  - ${r}`).join("\n")}\nMove these away or choose another --out.`,
    );
  }
  ensureOutDir(outDir);

  let tmp: string;
  let keepTmp = false;
  try {
    tmp = fs.mkdtempSync(path.join(outDir, TMP_PREFIX));
  } catch (e) {
    throw new RenderOutError(`cannot write into --out ${outDir}: ${errText(e)}`);
  }
  try {
    for (const h of hosts) {
      try {
        writeHost(path.join(tmp, h.host), h);
      } catch (e) {
        throw new RenderOutError(`cannot write the render of ${h.host} under ${outDir}: ${errText(e)}; nothing was changed`);
      }
    }
    const aside = path.join(tmp, ".old");
    const stale = path.join(tmp, ".stale");
    fs.mkdirSync(aside);
    fs.mkdirSync(stale);

    // Move into place; undo every move made so far when one fails.
    const moved: { host: string; hadOld: boolean }[] = [];
    let current: { host: string; hadOld: boolean } | undefined;
    try {
      for (const h of hosts) {
        const target = path.join(outDir, h.host);
        // Look again right before the move: the check above may be stale by now.
        const now = inspectHostFolder(outDir, h.host);
        if (now.kind === "foreign") throw new Error(`${target} ${now.why}`);
        current = { host: h.host, hadOld: now.kind === "ours" };
        if (current.hadOld) fsOps.rename(target, path.join(aside, h.host));
        fsOps.rename(path.join(tmp, h.host), target);
        moved.push(current);
        current = undefined;
      }
    } catch (e) {
      const unrestored: string[] = [];
      const restore = (from: string, to: string) => {
        try {
          fsOps.rename(from, to);
        } catch (undo) {
          unrestored.push(`${to}: ${errText(undo)}`);
        }
      };
      // The host whose move failed: its old render may already be aside.
      if (current?.hadOld && fs.existsSync(path.join(aside, current.host))) restore(path.join(aside, current.host), path.join(outDir, current.host));
      for (const m of moved.reverse()) {
        const target = path.join(outDir, m.host);
        restore(target, path.join(tmp, `${m.host}.new`));
        if (m.hadOld) restore(path.join(aside, m.host), target);
      }
      if (unrestored.length > 0) {
        keepTmp = true;
        throw new RenderOutError(
          `render --out: moving the new renders into ${outDir} failed: ${errText(e)}; could not put back: ${unrestored.join("; ")}; the earlier renders are kept in ${aside}`,
        );
      }
      throw new RenderOutError(`render --out: moving the new renders into ${outDir} failed: ${errText(e)}; nothing was changed`);
    }

    // Folders of hosts that left the spec: only ours go.
    const wanted = new Set(hosts.map((h) => h.host));
    const removed: string[] = [];
    const failed: string[] = [];
    for (const name of fs.readdirSync(outDir)) {
      if (wanted.has(name) || name.startsWith(".")) continue;
      if (inspectHostFolder(outDir, name).kind !== "ours") continue;
      try {
        fsOps.rename(path.join(outDir, name), path.join(stale, name));
        removed.push(path.join(outDir, name));
      } catch (e) {
        failed.push(`${path.join(outDir, name)}: ${errText(e)}`);
      }
    }
    if (failed.length > 0) {
      throw new RenderOutError(`render --out: wrote every host, but could not remove the folders of hosts no longer in the spec: ${failed.join("; ")}`);
    }
    return { written: hosts.map((h) => path.join(outDir, h.host)), removed };
  } finally {
    try {
      if (!keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      // Best effort; a left-over .cdktf-ipvs-render-* folder holds only copies of renders.
    }
  }
}
