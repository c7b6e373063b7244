/**
 * cdktf app of the fleet example: one stack, "fleet", with one IpvsHost per host of the data file.
 *
 *   FLEET_FILE          the data file (default: fleet.json in the working directory)
 *   FLEET_PG_CONN_STR   keep the state in PostgreSQL (Terraform's pg backend), e.g.
 *                       postgres://terraform@db.example.net/ipvs_fleet?sslmode=verify-full;
 *                       no password in it: set PGPASSWORD. Unset: the local state file.
 *   FLEET_PG_SCHEMA     schema of the state table (default terraform_remote_state)
 *
 *   cd examples/fleet && npx cdktf synth        (cdktf.json compiles this with tsconfig.json)
 */
import * as fs from "fs";
import * as path from "path";
import { App } from "cdktf";
import { FleetFile, FleetStack } from "./fleet";

export function loadFleetFile(file: string): FleetFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`fleet: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as FleetFile;
  } catch (e) {
    throw new Error(`fleet: ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

export function synthFleet(env: NodeJS.ProcessEnv = process.env, outdir?: string): FleetStack {
  const fleet = loadFleetFile(path.resolve(env.FLEET_FILE || "fleet.json"));
  const app = new App(outdir ? { outdir } : {});
  const connStr = env.FLEET_PG_CONN_STR;
  const stack = new FleetStack(app, "fleet", fleet, connStr ? { pg: { connStr, schemaName: env.FLEET_PG_SCHEMA || undefined } } : {});
  app.synth();
  return stack;
}

if (require.main === module) {
  try {
    const stack = synthFleet();
    console.log(`fleet: ${stack.hosts.length} host(s) synthesized`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
