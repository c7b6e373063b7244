/** The version of cdktf-ipvs, from its package.json (the source tree and the built dist/ both). */
import * as fs from "fs";
import * as path from "path";

let cached: string | undefined;

export function packageVersion(): string {
  if (cached !== undefined) return cached;
  // lib/cli -> ../../package.json; dist/lib/cli -> ../../../package.json
  for (const candidate of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, candidate), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "cdktf-ipvs" && typeof pkg.version === "string") return (cached = pkg.version);
    } catch {
      // try the next layout
    }
  }
  return (cached = "0.0.0");
}
