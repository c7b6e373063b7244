/**
 * The seed's scenario as a stack: IPVS service 172.16.1.8:1000 (rr) over two local real servers
 * (:1001, :1002, masquerade), reachable also on 1010 (REDIRECT) and 1020 (DNAT). Synthesizing it
 * makes net.ipv4.vs.conntrack=1 part of the host's desired state, which is what makes the aliases
 * work (see README).
 *
 *   npm start                   synthesize into cdktf.out and print the ordered plan (also in the
 *                               stack's outputs seed's lb1_ipvs_summary and lb1_ipvs_manifest_sha256)
 *   IPVS_ENGINE=terraform_data  use the built-in terraform_data resource instead of null_resource
 *   IPVS_SSH_HOST / IPVS_SSH_PORT / IPVS_SSH_KEY_PATH   where cdktf deploy connects
 */
import { App, TerraformStack } from "cdktf";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Construct } from "constructs";
import { IpvsHost, ProvisioningEngine } from "./lib/constructs";
import { formatPlan } from "./lib/plan";

export interface SeedOptions {
  /**
   * Weights of the real servers :1001 and :1002 (0 drains one).
   * @default [1, 1]
   */
  readonly weights?: readonly [number, number];
}

export class SeedStack extends TerraformStack {
  readonly lb: IpvsHost;

  constructor(scope: Construct, id: string, env: NodeJS.ProcessEnv = process.env, options: SeedOptions = {}) {
    super(scope, id);
    const engine = (env.IPVS_ENGINE ?? "null_resource") as ProvisioningEngine;
    if (engine === "null_resource") new NullProvider(this, "null");

    this.lb = new IpvsHost(this, "lb1", {
      engine,
      connection: {
        host: env.IPVS_SSH_HOST ?? "172.16.1.8",
        port: env.IPVS_SSH_PORT ? Number(env.IPVS_SSH_PORT) : undefined,
        user: "root",
        privateKeyPath: env.IPVS_SSH_KEY_PATH ?? "~/.ssh/id_ed25519",
      },
    });
    const app = this.lb.addVirtualService("app", { protocol: "tcp", address: "172.16.1.8", port: 1000, scheduler: "rr" });
    const [w1, w2] = options.weights ?? [1, 1];
    app.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: w1 });
    app.addRealServer({ address: "172.16.1.8", port: 1002, forwarding: "masquerade", weight: w2 });
    app.addAlias({ port: 1010, method: "redirect" });
    app.addAlias({ port: 1020, method: "dnat" });
  }
}

if (require.main === module) {
  const app = new App();
  const stack = new SeedStack(app, "seed");
  app.synth();
  if (process.argv.includes("--print-plan")) {
    console.log(formatPlan(stack.lb.plan));
    console.log(`  manifest sha256: ${stack.lb.rendered.manifestHash}`);
  }
}
