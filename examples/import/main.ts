/**
 * The imported host under management: `cdktf-ipvs import` read lb1 (here from the saved outputs
 * in dumps/) and wrote imported/spec.json and imported/lb1.ts. This app declares the host from the
 * spec (IpvsHost.fromSpec); imported/lb1.ts is the same host as TypeScript (addLb1), for an app
 * that would rather keep the declaration as code. Every service carries adopt: true, so the first
 * apply takes the existing services over unchanged instead of refusing them.
 *
 *   cd examples/import && npx cdktf synth
 */
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { IpvsHost, IpvsSpec } from "../../lib";

export const SPEC_FILE = path.join(__dirname, "imported", "spec.json");

export class ImportedStack extends TerraformStack {
  readonly lb: IpvsHost;

  constructor(scope: Construct, id: string, spec: IpvsSpec) {
    super(scope, id);
    const host = spec.hosts[0];
    this.lb = IpvsHost.fromSpec(this, host.name, host, {
      connection: { host: "172.16.1.8", user: "root", privateKeyPath: "~/.ssh/id_ed25519" },
      engine: "terraform_data",
    });
  }
}

export function synthImported(specFile = SPEC_FILE, outdir?: string): ImportedStack {
  const app = new App(outdir ? { outdir } : {});
  const stack = new ImportedStack(app, "imported", JSON.parse(fs.readFileSync(specFile, "utf8")) as IpvsSpec);
  app.synth();
  return stack;
}

if (require.main === module) synthImported(path.resolve("imported/spec.json"));
