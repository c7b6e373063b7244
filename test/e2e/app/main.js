// The cdktf app the e2e tests deploy into the lab guest: one IpvsHost (terraform_data engine,
// nothing to download) built from the host spec in $IPVS_E2E_SPEC, connecting to the guest's
// forwarded SSH port with the lab key, converge mode from $IPVS_E2E_CONVERGE. Uses the compiled
// library (npm run build).
const fs = require("fs");
const path = require("path");
const { App, TerraformStack } = require("cdktf");
const { IpvsHost } = require(path.resolve(__dirname, "../../../dist/lib"));

const spec = JSON.parse(fs.readFileSync(process.env.IPVS_E2E_SPEC, "utf8"));
const app = new App();
const stack = new TerraformStack(app, "lab");
IpvsHost.fromSpec(stack, spec.name, spec, {
  engine: "terraform_data",
  connection: {
    host: "127.0.0.1",
    port: Number(process.env.IPVS_E2E_PORT),
    user: "root",
    privateKeyPath: process.env.IPVS_E2E_KEY,
    timeout: "3m",
  },
  converge: process.env.IPVS_E2E_CONVERGE || undefined,
});
app.synth();
