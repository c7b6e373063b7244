/**
 * A throw-away PostgreSQL cluster for e2e tests (the fleet's Terraform `pg` backend): Debian's
 * postgresql package (`apt-get install postgresql`; .ci/run installs it), `initdb` + `pg_ctl` from
 * /usr/lib/postgresql/VERSION/bin, run as an unprivileged user, listening on 127.0.0.1 only (a
 * free port, no Unix socket), trust authentication for 127.0.0.1 only, one database.
 *
 *   const pg = await ThrowawayPostgres.start("fleet_state");
 *   pg.connStr                 // postgres://cdktf@127.0.0.1:PORT/fleet_state?sslmode=disable
 *   pg.psql("SELECT 1");
 *   pg.stop();                 // stops the server and deletes the cluster
 *
 * As root (CI), the server runs as the `postgres` user the package creates (or, when that user is
 * missing, a system user `cdktfipvs-pg` made with useradd); as anyone else, as that user.
 * Nothing here skips: a missing package fails with a message saying what to install.
 */
import { SpawnSyncOptions, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

const PG_ROOT = "/usr/lib/postgresql";
const SUPERUSER = "cdktf";
const DEDICATED_USER = "cdktfipvs-pg";

/** The newest /usr/lib/postgresql/VERSION/bin that has initdb, pg_ctl and psql. */
export function findPostgresBin(): string {
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(PG_ROOT);
  } catch {
    /* reported below */
  }
  const bins = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(PG_ROOT, v, "bin"))
    .filter((bin) => ["initdb", "pg_ctl", "psql"].every((c) => isExecutable(path.join(bin, c))));
  if (bins.length === 0) {
    throw new Error(
      `e2e: no PostgreSQL server found (${PG_ROOT}/*/bin/{initdb,pg_ctl,psql}). Install Debian's ` +
        `postgresql package: 'apt-get install -y --no-install-recommends postgresql' (as root; .ci/run does). ` +
        `The fleet test needs a real PostgreSQL for Terraform's pg backend and is not skipped.`,
    );
  }
  return bins[0];
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface Identity {
  name: string;
  uid: number;
  gid: number;
}

function lookupUser(name: string): Identity | undefined {
  const r = spawnSync("getent", ["passwd", name], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  const f = r.stdout.trim().split(":");
  return { name, uid: Number(f[2]), gid: Number(f[3]) };
}

/** Who runs the server: the current user, or (as root, which initdb refuses) an unprivileged one. */
function serverIdentity(): Identity {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { name: os.userInfo().username, uid, gid: process.getgid?.() ?? uid };
  const existing = lookupUser("postgres") ?? lookupUser(DEDICATED_USER);
  if (existing) return existing;
  const r = spawnSync("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", DEDICATED_USER], {
    encoding: "utf8",
  });
  const made = lookupUser(DEDICATED_USER);
  if (!made) throw new Error(`e2e pg: no postgres user and 'useradd ${DEDICATED_USER}' failed: ${r.stderr}`);
  return made;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class ThrowawayPostgres {
  /** Creates, starts and prepares a cluster with one database, DATABASE, owned by the superuser. */
  static async start(database = "terraform_state"): Promise<ThrowawayPostgres> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`e2e pg: bad database name ${database}`);
    const bin = findPostgresBin();
    const who = serverIdentity();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-pg-"));
    fs.chownSync(dir, who.uid, who.gid);
    const pg = new ThrowawayPostgres(bin, who, dir, database);
    try {
      pg.asServer("initdb", ["-D", pg.dataDir, "-U", SUPERUSER, "--auth=trust", "--no-locale", "-E", "UTF8", "--no-instructions"], 120_000);
      // Only TCP on loopback, and trust only from 127.0.0.1 (initdb's default also trusts the
      // Unix socket and ::1; there is no socket here and nothing else may connect).
      fs.writeFileSync(path.join(pg.dataDir, "pg_hba.conf"), "# TYPE  DATABASE  USER  ADDRESS       METHOD\nhost    all       all   127.0.0.1/32  trust\n");
      fs.chownSync(path.join(pg.dataDir, "pg_hba.conf"), who.uid, who.gid);
      let lastError: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        const port = await freeLoopbackPort();
        fs.writeFileSync(
          path.join(pg.dataDir, "postgresql.auto.conf"),
          [
            `listen_addresses = '127.0.0.1'`,
            `port = ${port}`,
            `unix_socket_directories = ''`,
            // Throw-away data: no need to wait for the disk.
            `fsync = off`,
            `synchronous_commit = off`,
            `full_page_writes = off`,
            "",
          ].join("\n"),
        );
        fs.chownSync(path.join(pg.dataDir, "postgresql.auto.conf"), who.uid, who.gid);
        try {
          pg.asServer("pg_ctl", ["start", "-w", "-t", "120", "-D", pg.dataDir, "-l", pg.logFile], 150_000);
          pg.port = port;
          break;
        } catch (e) {
          lastError = e; // most likely the port was taken in the meantime
        }
      }
      if (!pg.port) throw lastError;
      pg.psql(`CREATE DATABASE ${database}`, "postgres");
      ThrowawayPostgres.running.add(pg);
      return pg;
    } catch (e) {
      pg.stop();
      throw new Error(`e2e pg: could not start PostgreSQL from ${bin} as ${who.name}: ${(e as Error).message}\nserver log:\n${pg.logTail()}`);
    }
  }

  private static readonly running = new Set<ThrowawayPostgres>();
  static {
    // Should a test abort without afterAll, do not leave a server behind.
    process.once("exit", () => ThrowawayPostgres.running.forEach((pg) => pg.stop()));
  }

  port = 0;
  readonly user = SUPERUSER;
  readonly host = "127.0.0.1";

  private constructor(
    readonly bin: string,
    readonly runAs: Identity,
    readonly dir: string,
    readonly database: string,
  ) {}

  get dataDir(): string {
    return path.join(this.dir, "data");
  }

  get logFile(): string {
    return path.join(this.dir, "server.log");
  }

  /** A libpq URL without a password (trust authentication). */
  get connStr(): string {
    return `postgres://${this.user}@${this.host}:${this.port}/${this.database}?sslmode=disable`;
  }

  /** Runs SQL through psql over TCP and returns its unaligned, tuples-only output; throws on error. */
  psql(sql: string, database = this.database): string {
    const r = spawnSync(
      path.join(this.bin, "psql"),
      ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", this.host, "-p", String(this.port), "-U", this.user, "-d", database, "-c", sql],
      { encoding: "utf8", timeout: 60_000, env: { ...process.env, PGCONNECT_TIMEOUT: "10" } },
    );
    if (r.error || r.status !== 0) throw new Error(`psql '${sql}' failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
    return r.stdout.trim();
  }

  logTail(lines = 30): string {
    try {
      return fs.readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no server log)";
    }
  }

  /** Stops the server (immediate shutdown) and deletes the cluster. Safe to call twice. */
  stop(): void {
    ThrowawayPostgres.running.delete(this);
    if (fs.existsSync(path.join(this.dataDir, "postmaster.pid"))) {
      try {
        this.asServer("pg_ctl", ["stop", "-w", "-t", "60", "-m", "immediate", "-D", this.dataDir], 90_000);
      } catch {
        /* already gone */
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private asServer(tool: string, args: string[], timeoutMs: number): string {
    const opts: SpawnSyncOptions = {
      cwd: this.dir,
      encoding: "utf8",
      timeout: timeoutMs,
      // stdio must not stay attached to jest: pg_ctl start leaves the server running.
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: `${this.bin}:/usr/bin:/bin`, LANG: "C", LC_ALL: "C", HOME: this.dir, TZ: "UTC" },
    };
    if ((process.getuid?.() ?? 0) !== this.runAs.uid) Object.assign(opts, { uid: this.runAs.uid, gid: this.runAs.gid });
    const r = spawnSync(path.join(this.bin, tool), args, opts);
    if (r.error || r.status !== 0) {
      throw new Error(`${tool} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
    }
    return String(r.stdout);
  }
}
