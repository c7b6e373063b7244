/**
 * Host-side shell logic kept as real POSIX sh files (lib/render/host/*.sh), so shellcheck and
 * editors read them as they are. They hold functions only and no data: every value they use comes
 * from the generated prelude (validated at synth, quoted) or from the host itself. The prelude of
 * apply.sh, verify.sh and destroy.sh includes them verbatim, in HOST_SOURCES order.
 */
import * as fs from "fs";
import * as path from "path";

/** The files, in the order the scripts define them. */
export const HOST_SOURCES = ["kernel.sh", "owners.sh", "drain.sh", "rollback.sh"] as const;
export type HostSource = (typeof HOST_SOURCES)[number];

/** Which script includes which: each only what it calls (destroy.sh must not even mention rollback's modprobe -r). */
export const SOURCES_OF: Readonly<Record<"apply" | "verify" | "destroy", readonly HostSource[]>> = {
  apply: HOST_SOURCES,
  verify: ["kernel.sh"],
  destroy: ["kernel.sh", "drain.sh"],
};

// From lib/render (ts-jest, ts-node) the files sit beside this module; from dist/lib/render the
// package ships them at lib/render/host (package.json "files").
const CANDIDATE_DIRS = [path.join(__dirname, "host"), path.resolve(__dirname, "../../../lib/render/host")];

const cache = new Map<HostSource, string>();

/** The text of one host source, without its shebang and file header comment block. */
export function hostSource(name: HostSource): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const dir = CANDIDATE_DIRS.find((d) => fs.existsSync(path.join(d, name)));
  if (!dir) throw new Error(`internal: host script source ${name} not found in ${CANDIDATE_DIRS.join(" or ")}`);
  const text = fs.readFileSync(path.join(dir, name), "utf8");
  if (text.includes("CDKTF_IPVS_EOF")) throw new Error(`internal: ${name} must not contain the heredoc delimiter`);
  // Drop the shebang and shellcheck directive lines meant for checking the file on its own.
  const body = text
    .split("\n")
    .filter((line, i) => !(i === 0 && line.startsWith("#!")) && !line.startsWith("# shellcheck shell="))
    .join("\n")
    .trim();
  cache.set(name, body);
  return body;
}

/** The host sources one script includes, for its prelude. */
export function hostSources(kind: keyof typeof SOURCES_OF): string {
  return SOURCES_OF[kind].map((n) => `# --- ${n} (lib/render/host/${n}) ---\n${hostSource(n)}`).join("\n\n");
}
