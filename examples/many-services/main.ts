/**
 * Many services from a data file (services.json), declared through the constructs: one
 * IpvsHost, one addVirtualService per entry, addRealServer / addAlias for its lists. The file is
 * your own format (here: a shared service address and short entries); the constructs check every
 * value and report the entry's construct path on a mistake.
 *
 *   SERVICES_FILE   the data file (default: services.json next to this file)
 *
 *   cd examples/many-services && npx cdktf synth
 */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AliasMethod, IpvsHost, Scheduler, SshConnectionProps } from "../../lib";

/** One service of the data file: the port on the shared address and where it sends traffic. */
export interface ServiceEntry {
  readonly name: string;
  readonly port: number;
  readonly scheduler?: Scheduler;
  /** Masquerade real servers; each listens on the service's port unless `port` says otherwise. */
  readonly realServers: readonly { readonly address: string; readonly port?: number; readonly weight?: number }[];
  readonly aliases?: readonly { readonly port: number; readonly method?: AliasMethod }[];
}

export interface ServicesFile {
  readonly host: { readonly name: string; readonly connection: SshConnectionProps };
  /** The address every service listens on. */
  readonly address: string;
  readonly services: readonly ServiceEntry[];
}

export class ManyServicesStack extends TerraformStack {
  readonly lb: IpvsHost;

  constructor(scope: Construct, id: string, file: ServicesFile) {
    super(scope, id);
    this.lb = new IpvsHost(this, file.host.name, { connection: file.host.connection, engine: "terraform_data" });
    for (const entry of file.services) {
      const svc = this.lb.addVirtualService(entry.name, { protocol: "tcp", address: file.address, port: entry.port, scheduler: entry.scheduler ?? "wlc" });
      for (const rs of entry.realServers) svc.addRealServer({ ...rs, forwarding: "masquerade" });
      for (const alias of entry.aliases ?? []) svc.addAlias(alias);
    }
  }
}

export function loadServicesFile(file: string): ServicesFile {
  return JSON.parse(fs.readFileSync(file, "utf8")) as ServicesFile;
}

export function synthManyServices(file = path.join(__dirname, "services.json"), outdir?: string): ManyServicesStack {
  const app = new App(outdir ? { outdir } : {});
  const stack = new ManyServicesStack(app, "many-services", loadServicesFile(file));
  app.synth();
  return stack;
}

if (require.main === module) {
  // Compiled to dist/examples/many-services/: read the data file from the working directory.
  const stack = synthManyServices(path.resolve(process.env.SERVICES_FILE || "services.json"));
  console.log(`many-services: ${stack.lb.virtualServices.length} services synthesized`);
}
