/**
 * The stack under test: the seed's load balancer (IpvsHost), and, when `legacy` is set, a
 * colleague's hand-written terraform_data that configures a second host with raw ipvsadm and
 * iptables lines (a REDIRECT alias, but no net.ipv4.vs.conntrack=1). The policy checks read both.
 */
import { App, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { IpvsHost } from "../../lib";

export interface LbStackProps {
  /** Add the hand-written host (172.16.1.9) whose alias lacks the conntrack sysctl. */
  readonly legacy?: boolean;
}

export class LbStack extends TerraformStack {
  readonly lb: IpvsHost;

  constructor(scope: Construct, id: string, props: LbStackProps = {}) {
    super(scope, id);
    this.lb = new IpvsHost(this, "lb1", { connection: { host: "172.16.1.8", privateKeyPath: "~/.ssh/id_ed25519" }, engine: "terraform_data" });
    const app = this.lb.addVirtualService("app", { address: "172.16.1.8", port: 1000, scheduler: "rr" });
    app.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
    app.addRealServer({ address: "172.16.1.8", port: 1002, forwarding: "masquerade" });
    app.addAlias({ port: 1010, method: "redirect" });
    app.addAlias({ port: 1020, method: "dnat" });

    if (props.legacy) {
      new LegacyHost(this, "legacy");
    }
  }
}

/** Hand-written provisioning, as found in older stacks: nothing sets net.ipv4.vs.conntrack. */
class LegacyHost extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = TerraformStack.of(this);
    stack.addOverride(`resource.terraform_data.${id}`, {
      connection: { type: "ssh", host: "172.16.1.9", user: "root" },
      provisioner: [
        {
          "remote-exec": {
            inline: [
              "ipvsadm -A -t 172.16.1.9:2000 -s rr",
              "ipvsadm -a -t 172.16.1.9:2000 -r 172.16.1.9:2001 -m",
              "iptables -t nat -A PREROUTING -p tcp --dport 2010 -j REDIRECT --to-port 2000",
            ],
          },
        },
      ],
    });
  }
}

if (require.main === module) {
  const app = new App();
  new LbStack(app, "lb");
  app.synth();
}
