/**
 * `cdktf-ipvs import`: a running load balancer as a spec.json (and, with --ts, TypeScript). The
 * four dumps come from files (--ipvs, --thresholds, --nat, --sysctls) or from the host over SSH
 * (one read-only script: it loads no module, changes nothing). lib/import does the reading.
 * Exit 0 everything imported, 1 imported with notes (printed on stderr), 2 usage or input error.
 */
import * as fs from "fs";
import { HostRunner, SshTarget } from "../drift";
import { formatNote, importHost, importedHostTypeScript } from "../import";
import { NAME_PATTERN } from "../model/build";
import { Io } from "./output";
import { UsageError } from "./args";

/** An input problem of import: printed as is, exit 2. */
export class ImportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportInputError";
  }
}

const MARK = "@@cdktf-ipvs-import";

/**
 * Prints the four dumps, each after a marker line. Read-only: without ip_vs loaded there is no
 * IPVS table and ipvsadm is not called (it would load the module).
 */
export const IMPORT_SCRIPT = `set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
M=${MARK}
fail() { echo "$M fail $1"; exit 1; }
echo "$M ipvs"
if [ -d /sys/module/ip_vs ]; then
  command -v ipvsadm >/dev/null 2>&1 || fail "ip_vs is loaded but ipvsadm is not installed"
  ipvsadm -Sn || fail "ipvsadm -Sn failed"
  echo "$M thresholds"
  ipvsadm -Ln --thresholds || fail "ipvsadm -Ln --thresholds failed"
else
  echo "$M thresholds"
fi
echo "$M nat"
if command -v iptables-save >/dev/null 2>&1; then iptables-save -t nat || fail "iptables-save -t nat failed"; fi
if command -v ip6tables-save >/dev/null 2>&1; then ip6tables-save -t nat || fail "ip6tables-save -t nat failed"; fi
echo "$M sysctls"
sysctl -a 2>/dev/null
echo "$M end"
`;

type Dumps = { ipvs: string; thresholds: string; nat: string; sysctls: string };
const KEYS = ["ipvs", "thresholds", "nat", "sysctls"] as const;

/** The dumps from the import script's output; an error says what the host answered. */
export function readImportOutput(stdout: string, code: number, stderr: string): Dumps {
  const sections: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(`${MARK} `)) {
      const what = line.slice(MARK.length + 1);
      if (what.startsWith("fail ")) throw new ImportInputError(`the host could not be read: ${what.slice(5)}${stderr.trim() ? ` (${stderr.trim().split("\n").slice(-1)[0]})` : ""}`);
      current = sections[what] = [];
      continue;
    }
    current?.push(line);
  }
  if (!sections.end) {
    throw new ImportInputError(`the host could not be read (exit ${code})${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" / ")}` : ""}`);
  }
  const text = (k: string) => (sections[k] ?? []).map((l) => `${l}\n`).join("");
  return { ipvs: text("ipvs"), thresholds: text("thresholds"), nat: text("nat"), sysctls: text("sysctls") };
}

function readInput(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ImportInputError(`cannot read --${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Refuses dumps that are plainly something else (files given in the wrong order, an empty capture). */
function checkDumps(d: Dumps, names: Record<(typeof KEYS)[number], string>): void {
  const lines = (t: string) => t.split("\n").map((l, i) => [i + 1, l.trim()] as const).filter(([, l]) => l !== "");
  for (const [n, l] of lines(d.ipvs)) {
    if (!/^-[Aa] /.test(l)) throw new ImportInputError(`${names.ipvs}:${n}: is not a line of ipvsadm -Sn (-A ... or -a ...): ${l.slice(0, 80)}`);
  }
  if (lines(d.ipvs).some(([, l]) => l.startsWith("-a ")) && !/Uthreshold\s+Lthreshold/.test(d.thresholds)) {
    throw new ImportInputError(`${names.thresholds}: is not the output of ipvsadm -Ln --thresholds (no Uthreshold Lthreshold header), and the real servers' thresholds are needed`);
  }
  if (lines(d.nat).length > 0 && !lines(d.nat).some(([, l]) => l === "*nat")) throw new ImportInputError(`${names.nat}: is not the output of iptables-save -t nat (no *nat line)`);
  if (!lines(d.sysctls).some(([, l]) => / = /.test(l))) throw new ImportInputError(`${names.sysctls}: is not the output of sysctl -a (no "key = value" line)`);
}

function hostNameOf(options: Record<string, string>, sysctls: string): string {
  if (options.host !== undefined) {
    if (options.host.length > 63 || !NAME_PATTERN.test(options.host)) throw new UsageError(`--host ${JSON.stringify(options.host)} is not a host name; allowed: 1–63 characters of A–Z a–z 0–9 _ . -, starting with a letter or digit`, "import");
    return options.host;
  }
  const m = /^kernel\.hostname = (.*)$/m.exec(sysctls);
  if (m && m[1].length <= 63 && NAME_PATTERN.test(m[1])) return m[1];
  throw new ImportInputError("cannot tell the host's name (no usable kernel.hostname in sysctl -a); give --host NAME");
}

function writeOutput(file: string, text: string, what: string): void {
  try {
    if (fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) throw new Error("it is a symlink");
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new ImportInputError(`cannot write ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `runner` reaches TARGET with the login options (--identity, --sudo, --jump...) already applied. */
export function importCommand(options: Record<string, string>, io: Io, runner: (target: SshTarget) => HostRunner, parseTarget: (text: string) => SshTarget): number {
  const files = KEYS.filter((k) => options[k] !== undefined);
  let dumps: Dumps;
  let names: Record<(typeof KEYS)[number], string>;
  let source: string;
  if (options.ssh !== undefined) {
    if (files.length > 0) throw new UsageError(`--ssh reads the host itself; leave out ${files.map((k) => `--${k}`).join(", ")}`, "import");
    let target: SshTarget;
    try {
      target = parseTarget(options.ssh);
    } catch (e) {
      throw new ImportInputError((e as Error).message);
    }
    const r = runner(target).run(IMPORT_SCRIPT);
    dumps = readImportOutput(r.stdout, r.code, r.stderr);
    names = { ipvs: "ipvsadm -Sn", thresholds: "ipvsadm -Ln --thresholds", nat: "iptables-save -t nat", sysctls: "sysctl -a" };
    source = `${target.user ?? "root"}@${target.host}`;
  } else {
    const login = (["identity", "no-host-key-check", "sudo", "jump"] as const).filter((k) => options[k] !== undefined);
    if (login.length > 0) throw new UsageError(`${login.map((k) => `--${k}`).join(", ")} go${login.length === 1 ? "es" : ""} with --ssh`, "import");
    const missing = KEYS.filter((k) => options[k] === undefined);
    if (files.length === 0) throw new UsageError("give --ssh [user@]host[:port], or the four saved outputs --ipvs, --thresholds, --nat and --sysctls", "import");
    if (missing.length > 0) throw new UsageError(`${missing.map((k) => `--${k}`).join(" and ")} ${missing.length === 1 ? "is" : "are"} needed too: the import reads all four outputs`, "import");
    dumps = { ipvs: readInput(options.ipvs, "ipvs"), thresholds: readInput(options.thresholds, "thresholds"), nat: readInput(options.nat, "nat"), sysctls: readInput(options.sysctls, "sysctls") };
    names = { ipvs: options.ipvs, thresholds: options.thresholds, nat: options.nat, sysctls: options.sysctls };
    source = "saved outputs";
  }
  checkDumps(dumps, names);
  const hostName = hostNameOf(options, dumps.sysctls);
  const result = importHost({ hostName, ...dumps, labels: names });

  const specText = `${JSON.stringify({ hosts: [result.spec] }, null, 2)}\n`;
  const tsText = options.ts !== undefined ? importedHostTypeScript(result.spec, { header: [`Imported by cdktf-ipvs import from ${source}.`] }) : undefined;
  writeOutput(options.out, specText, "--out");
  if (tsText !== undefined) writeOutput(options.ts, tsText, "--ts");

  const d = result.desired;
  const reals = d.services.reduce((n, s) => n + s.realServers.length, 0);
  io.out(
    `imported ${hostName}: ${d.services.length} virtual service(s) (adopt), ${reals} real server(s), ${d.aliases.length} alias(es), ${d.sysctls.length} sysctl(s); wrote ${options.out}${options.ts !== undefined ? ` and ${options.ts}` : ""}`,
  );
  if (result.shadowed.length > 0) {
    io.out(`${result.shadowed.length} hand-made rule(s) will match nothing once the first apply has run (its own chains come first); remove them then, while the aliases keep answering:`);
    for (const r of result.shadowed) io.out(`  ${r.remove}    # ${r.where}`);
  }
  for (const n of result.notes) io.err(formatNote(n));
  if (result.notes.length > 0) io.err(`${result.notes.length} note(s): review them before the first apply`);
  return result.notes.length > 0 ? 1 : 0;
}
