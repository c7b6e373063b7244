#!/usr/bin/env node
// Declare + synth time of one large host built through the constructs (addVirtualService,
// addRealServer, addAlias; terraform_data engine), at several sizes, and the size of the
// synthesized cdk.tf.json; plus IpvsHost.fromSpec of the same spec for comparison. Each size runs
// in its own node process (fresh heap, no JIT warm-up carried over). Guest-free; run after
// `npm run build` (it reads dist/).
//
//   node bench/synth-at-scale.js [SIZES=250,500,1000,2000] [REAL_SERVERS_PER_SERVICE=4] [FROM_SPEC_AT=1000]
//   IPVS_DIST=/path/to/dist   read the compiled library from another folder (default ./dist)
//
// Prints a markdown table. Each service has REAL_SERVERS_PER_SERVICE masquerade real servers
// and one DNAT alias.
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..");
const dist = path.resolve(process.env.IPVS_DIST || path.join(root, "dist"));

function scaleSpec(n, per) {
  const virtualServices = [];
  for (let i = 0; i < n; i++) {
    const realServers = [];
    for (let r = 0; r < per; r++) realServers.push({ address: "172.16.1.8", port: 1001 + r, forwarding: "masquerade" });
    virtualServices.push({ name: `svc${i}`, protocol: "tcp", address: "172.16.1.8", port: 10000 + i, scheduler: "rr", realServers, aliases: [{ port: 30000 + i, method: "dnat" }] });
  }
  return { name: "bench", virtualServices };
}

/** One measurement, in this process: prints one JSON line. */
function measure(mode, n, per) {
  const { App, TerraformStack } = require(path.join(root, "node_modules", "cdktf"));
  const { IpvsHost } = require(path.join(dist, "lib", "constructs"));
  const spec = scaleSpec(n, per);
  const props = { engine: "terraform_data", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/keys/id" } };
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-synth-"));
  try {
    const started = process.hrtime.bigint();
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "scale");
    if (mode === "fromSpec") {
      IpvsHost.fromSpec(stack, "bench", spec, props);
    } else {
      const lb = new IpvsHost(stack, "bench", props);
      for (const { name, realServers, aliases, ...svcProps } of spec.virtualServices) {
        const svc = lb.addVirtualService(name, svcProps);
        for (const rs of realServers) svc.addRealServer(rs);
        for (const a of aliases) svc.addAlias(a);
      }
    }
    const declared = process.hrtime.bigint();
    app.synth();
    const done = process.hrtime.bigint();
    const bytes = fs.statSync(path.join(outdir, "stacks", "scale", "cdk.tf.json")).size;
    const s = (a, b) => Number(b - a) / 1e9;
    process.stdout.write(`${JSON.stringify({ mode, n, declare: s(started, declared), synth: s(declared, done), total: s(started, done), bytes })}\n`);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function run(mode, n, per) {
  const out = execFileSync(process.execPath, [__filename, "--one", mode, String(n), String(per)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").pop());
}

if (process.argv[2] === "--one") {
  measure(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
} else {
  const sizes = (process.argv[2] || "250,500,1000,2000").split(",").map(Number);
  const per = Number(process.argv[3] || 4);
  const fromSpecAt = Number(process.argv[4] || 1000);
  if (!fs.existsSync(path.join(dist, "lib", "constructs", "index.js"))) {
    console.error(`no compiled library at ${dist}; run \`npm run build\` first`);
    process.exit(2);
  }
  console.log(`One host, N services x ${per} real servers (masquerade) + 1 DNAT alias each, terraform_data engine; node ${process.version}, ${os.cpus().length} CPU(s)\n`);
  console.log("| how | services | declare s | synth s | declare+synth s | cdk.tf.json KB | s per 1000 services |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  const row = (label, r) =>
    console.log(`| ${label} | ${r.n} | ${r.declare.toFixed(2)} | ${r.synth.toFixed(2)} | ${r.total.toFixed(2)} | ${(r.bytes / 1024).toFixed(0)} | ${((r.total * 1000) / r.n).toFixed(2)} |`);
  for (const n of sizes) row("constructs (add*)", run("constructs", n, per));
  if (fromSpecAt > 0) row("IpvsHost.fromSpec", run("fromSpec", fromSpecAt, per));
}
