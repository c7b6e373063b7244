/**
 * What `npm pack` puts in the tarball is exactly what the build makes and the package needs: the
 * compiled library (one .js and .d.ts per lib/ source, nothing stale), the host scripts, the CLI,
 * the schema; every `files` entry matches something, and main, types, exports and bin point at
 * packed files. Needs a build (npm test builds first).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

function packed(): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return (JSON.parse(out)[0].files as { path: string }[]).map((f) => f.path).sort();
}

function walk(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe("npm pack", () => {
  const files = packed();
  const sources = walk("lib").filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));

  test("holds the compiled library, one .js and .d.ts per lib/ source and nothing else under dist", () => {
    const expected = sources.flatMap((f) => [`dist/${f.replace(/\.ts$/, ".js")}`, `dist/${f.replace(/\.ts$/, ".d.ts")}`]).sort();
    expect(files.filter((f) => f.startsWith("dist/"))).toEqual(expected);
  });

  test("holds the host scripts, the CLI, the schema and the docs, and no sources or tests", () => {
    const hostScripts = walk("lib/render/host").filter((f) => f.endsWith(".sh"));
    expect(hostScripts.length).toBeGreaterThan(0);
    expect(files.filter((f) => !f.startsWith("dist/"))).toEqual(
      ["CHANGELOG.md", "LICENSE", "README.md", "bin/cdktf-ipvs.js", "package.json", "schema/spec.schema.json", ...hostScripts].sort(),
    );
  });

  test("every `files` entry matches a packed file", () => {
    for (const entry of pkg.files as string[]) {
      const re = new RegExp(`^${entry.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(/|$)`);
      expect({ entry, matches: files.some((f) => re.test(f)) }).toEqual({ entry, matches: true });
    }
  });

  test("main, types, exports and bin point at packed files", () => {
    const targets: string[] = [pkg.main, pkg.types, ...Object.values(pkg.bin as Record<string, string>)];
    for (const value of Object.values(pkg.exports as Record<string, string | Record<string, string>>)) {
      targets.push(...(typeof value === "string" ? [value] : Object.values(value)));
    }
    for (const list of Object.values(pkg.typesVersions["*"] as Record<string, string[]>)) targets.push(...list);
    expect(targets.length).toBeGreaterThan(8);
    for (const t of targets) expect({ target: t, packed: files.includes(path.posix.normalize(t)) }).toEqual({ target: t, packed: true });
  });

  test("cdktf, cdktn and constructs are peers (never a second nested copy); no provider package is needed", () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    for (const name of ["cdktf", "cdktn", "constructs", "@cdktf/provider-null"]) expect(deps).not.toContain(name);
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["cdktf", "cdktn", "constructs"]);
    expect(pkg.peerDependenciesMeta).toEqual({ cdktf: { optional: true }, cdktn: { optional: true } });
  });
});
