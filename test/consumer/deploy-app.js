// The seed as a consumer app deploys it into the lab guest (test/e2e/cdktn.e2e.test.ts): copied
// into an app made by test/consumer/run.sh and run there with node, so that it loads that app's
// cdktf-ipvs and CDK ($CONSUMER_CDK: cdktn or cdktf). terraform_data engine: nothing to download.
const { App, TerraformStack } = require(process.env.CONSUMER_CDK || "cdktn");
const { IpvsHost, CDK_LIBRARY } = require("cdktf-ipvs");

if (CDK_LIBRARY !== (process.env.CONSUMER_CDK || "cdktn")) throw new Error(`cdktf-ipvs loaded ${CDK_LIBRARY}`);
const app = new App({ outdir: "cdktf.out" });
const stack = new TerraformStack(app, "lab");
const lb = new IpvsHost(stack, "lb1", {
  engine: "terraform_data",
  connection: { host: "127.0.0.1", port: Number(process.env.IPVS_E2E_PORT), user: "root", privateKeyPath: process.env.IPVS_E2E_KEY, timeout: "3m" },
});
const svc = lb.addVirtualService("app", { protocol: "tcp", address: "172.16.1.8", port: 1000, scheduler: "rr" });
svc.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
svc.addRealServer({ address: "172.16.1.8", port: 1002, forwarding: "masquerade" });
svc.addAlias({ port: 1010, method: "redirect" });
svc.addAlias({ port: 1020, method: "dnat" });
app.synth();
