#!/usr/bin/env node
// Sizes of the synthesized cdk.tf.json (what `cdktf synth` writes and a pull request carries):
// the seed stack (main.ts) and SERVICES services x REAL_SERVERS real servers with one DNAT alias
// each, both with the terraform_data engine. Fast and guest-free; run after `npm run build`.
// Exits 1 when a size is over its target (seed <= 80 KB; 1000 x 4 + 1000 aliases <= 3 MB). The
// seed is mostly the one copy of the host scripts, which does not grow with services.
//
//   node bench/config-size.js [SERVICES=1000] [REAL_SERVERS_PER_SERVICE=4]
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const root = path.resolve(__dirname, "..");
const { App, TerraformStack } = require(path.join(root, "node_modules", "cdktf"));
const { IpvsHost } = require(path.join(root, "dist", "lib", "constructs"));
const { SeedStack } = require(path.join(root, "dist", "main"));

const SERVICES = Number(process.argv[2] || 1000);
const PER = Number(process.argv[3] || 4);
const KB = 1024;

/** Synthesizes BUILD(app) into a temporary folder; returns the size of the stack's cdk.tf.json. */
function synthSize(stackId, build) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-size-"));
  try {
    const started = Date.now();
    const app = new App({ outdir });
    build(app);
    app.synth();
    const file = path.join(outdir, "stacks", stackId, "cdk.tf.json");
    return { bytes: fs.statSync(file).size, ms: Date.now() - started };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function scaleSpec(n, per) {
  const virtualServices = [];
  for (let i = 0; i < n; i++) {
    const realServers = [];
    for (let r = 0; r < per; r++) realServers.push({ address: "172.16.1.8", port: 1001 + r, forwarding: "masquerade" });
    virtualServices.push({ name: `svc${i}`, protocol: "tcp", address: "172.16.1.8", port: 10000 + i, scheduler: "rr", realServers, aliases: [{ port: 30000 + i, method: "dnat" }] });
  }
  return { name: "bench", virtualServices };
}

const env = { IPVS_ENGINE: "terraform_data", IPVS_SSH_HOST: "127.0.0.1", IPVS_SSH_KEY_PATH: "/keys/id" };
const rows = [
  ["seed stack (main.ts)", synthSize("seed", (app) => new SeedStack(app, "seed", env)), 80 * KB],
  [
    `${SERVICES} services x ${PER} real servers + ${SERVICES} aliases`,
    synthSize("scale", (app) => {
      const stack = new TerraformStack(app, "scale");
      IpvsHost.fromSpec(stack, "bench", scaleSpec(SERVICES, PER), { engine: "terraform_data", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/keys/id" } });
    }),
    SERVICES === 1000 && PER === 4 ? 3 * KB * KB : undefined,
  ],
];

const show = (bytes) => (bytes >= KB * KB ? `${(bytes / KB / KB).toFixed(2)} MB` : `${(bytes / KB).toFixed(1)} KB`);
console.log("cdk.tf.json size (terraform_data engine; scripts once per host, compressed)");
let over = false;
for (const [what, { bytes, ms }, target] of rows) {
  const verdict = target === undefined ? "" : bytes <= target ? `  ok (target <= ${show(target)})` : `  OVER the target of ${show(target)}`;
  if (target !== undefined && bytes > target) over = true;
  console.log(`  ${what}: ${show(bytes)} (${bytes} bytes, synth ${ms} ms)${verdict}`);
}
process.exit(over ? 1 : 0);
