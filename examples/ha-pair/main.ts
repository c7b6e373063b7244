/**
 * An active/standby pair of load balancers with the same services: the services are declared
 * once (`declareServices`) and applied to every host of the pair, so the standby can never lag
 * behind the active one. The virtual IP (10.0.0.100) moves between the hosts with keepalived or
 * similar (not managed here); both hosts carry the IPVS services, the alias rules and the
 * conntrack sysctl the aliases need, so whichever holds the VIP serves it.
 *
 *   cd examples/ha-pair && npx cdktf synth
 */
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { IpvsHost, SshConnectionProps } from "../../lib";

export const VIP = "10.0.0.100";

/** The pair's services, declared once: called for each host. */
export function declareServices(lb: IpvsHost): void {
  const web = lb.addVirtualService("web", { protocol: "tcp", address: VIP, port: 443, scheduler: "wlc" });
  for (const backend of ["10.0.1.21", "10.0.1.22", "10.0.1.23"]) web.addRealServer({ address: backend, forwarding: "masquerade" });
  web.addAlias({ port: 8443, method: "dnat" }); // old clients still on 8443

  const dns = lb.addVirtualService("dns", { protocol: "udp", address: VIP, port: 53, scheduler: "rr" });
  for (const backend of ["10.0.1.31", "10.0.1.32"]) dns.addRealServer({ address: backend, forwarding: "masquerade" });
}

export interface HaPairProps {
  /** The hosts of the pair, by name; each gets the same services. */
  readonly hosts: Readonly<Record<string, SshConnectionProps>>;
  /** Declares the services on one host. */
  readonly services: (lb: IpvsHost) => void;
}

/** A group of IpvsHosts with the same services (two for an active/standby pair). */
export class HaPair extends Construct {
  readonly hosts: IpvsHost[];

  constructor(scope: Construct, id: string, props: HaPairProps) {
    super(scope, id);
    this.hosts = Object.entries(props.hosts).map(([name, connection]) => {
      const lb = new IpvsHost(this, name, { connection, engine: "terraform_data" });
      props.services(lb);
      return lb;
    });
  }
}

export class HaPairStack extends TerraformStack {
  readonly pair: HaPair;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const key = { user: "root", privateKeyPath: "~/.ssh/id_ed25519" };
    this.pair = new HaPair(this, "pair", {
      hosts: { "lb-a": { host: "10.0.0.11", ...key }, "lb-b": { host: "10.0.0.12", ...key } },
      services: declareServices,
    });
  }
}

export function synthHaPair(outdir?: string): HaPairStack {
  const app = new App(outdir ? { outdir } : {});
  const stack = new HaPairStack(app, "ha-pair");
  app.synth();
  return stack;
}

if (require.main === module) synthHaPair();
