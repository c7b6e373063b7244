/**
 * The seed: one IPVS host, the scenario of the problem statement (README, "The problem").
 *
 *   172.16.1.8:1000  tcp, round robin over :1001 and :1002 (masquerade, same host)
 *   :1010            REDIRECT alias to :1000
 *   :1020            DNAT alias to :1000
 *
 * The two aliases make the host need net.ipv4.vs.conntrack=1; IpvsHost adds it by itself.
 *
 *   cd examples/seed && npx cdktf synth      (in your app: import { IpvsHost } from "cdktf-ipvs")
 */
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { IpvsHost } from "../../lib";

export class SeedStack extends TerraformStack {
  readonly lb: IpvsHost;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.lb = new IpvsHost(this, "lb1", {
      connection: { host: "172.16.1.8", user: "root", privateKeyPath: "~/.ssh/id_ed25519" },
    });
    const app = this.lb.addVirtualService("app", { protocol: "tcp", address: "172.16.1.8", port: 1000, scheduler: "rr" });
    app.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
    app.addRealServer({ address: "172.16.1.8", port: 1002, forwarding: "masquerade" });
    app.addAlias({ port: 1010, method: "redirect" });
    app.addAlias({ port: 1020, method: "dnat" });
  }
}

/** Synthesizes the app into `outdir` (default: cdktf's, cdktf.out) and returns the stack. */
export function synthSeed(outdir?: string): SeedStack {
  const app = new App(outdir ? { outdir } : {});
  const stack = new SeedStack(app, "seed");
  app.synth();
  return stack;
}

if (require.main === module) synthSeed();
