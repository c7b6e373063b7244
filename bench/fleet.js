#!/usr/bin/env node
// Fleet at scale: generates a data file of HOSTS load balancers x SERVICES virtual services each
// (REAL_SERVERS masquerade real servers + 1 DNAT alias per service), synthesizes it with the fleet
// example (examples/fleet, one stack, one IpvsHost per host, terraform_data engine), then runs
// `terraform init` (local state; terraform_data is built in, nothing is downloaded) and
// `terraform plan` on it, and prints a markdown table of the wall-clock times. No host is
// contacted (provisioners only run at apply). Targets (issue 10): synth < 10 s, plan < 30 s.
//
//   npm run bench:fleet                          (= node bench/fleet.js 50 20 4)
//   node bench/fleet.js [HOSTS=50] [SERVICES=20] [REAL_SERVERS=4] [--no-build] [--keep]
//
// --no-build skips compiling the example (tsc -p examples/fleet/tsconfig.json, into dist/);
// --keep leaves the work folder (data file, cdktf.out) and prints where it is.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..");
const flags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const [hosts, services, realServers] = [50, 20, 4].map((dflt, i) => (positional[i] === undefined ? dflt : Number(positional[i])));
if (![hosts, services, realServers].every((n) => Number.isInteger(n) && n > 0)) {
  console.error("usage: node bench/fleet.js [HOSTS=50] [SERVICES=20] [REAL_SERVERS=4] [--no-build] [--keep]");
  process.exit(2);
}
const main = path.join(root, "dist", "examples", "fleet", "main.js");

function fleet(nHosts, nServices, perService) {
  const list = [];
  for (let h = 0; h < nHosts; h++) {
    const lb = `10.20.${Math.floor(h / 200)}.${(h % 200) + 1}`; // where Terraform would connect
    const vip = `198.18.${h}.10`;
    const virtualServices = [];
    for (let s = 0; s < nServices; s++) {
      const rs = [];
      for (let r = 0; r < perService; r++) rs.push({ address: `10.30.${h}.${r + 1}`, port: 8000 + s, forwarding: "masquerade" });
      virtualServices.push({ name: `svc${s}`, protocol: "tcp", address: vip, port: 1000 + s, scheduler: "rr", realServers: rs, aliases: [{ port: 2000 + s, method: "dnat" }] });
    }
    list.push({ name: `lb${String(h + 1).padStart(3, "0")}`, connection: { host: lb }, sysctls: { "net.netfilter.nf_conntrack_max": 262144 }, virtualServices });
  }
  return {
    engine: "terraform_data",
    defaults: { connection: { user: "root", privateKeyPath: "~/.ssh/id_ed25519", timeout: "2m" } },
    hosts: list,
  };
}

/** Runs CMD ARGS, returns { seconds, out }; exits the benchmark with the output on failure. */
function timed(label, cmd, args, opts) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20, ...opts });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.error || r.status !== 0) {
    console.error(`${label} failed (${r.error ? r.error.message : `exit ${r.status}`}):\n${(r.stdout || "").slice(-4000)}\n${(r.stderr || "").slice(-4000)}`);
    process.exit(1);
  }
  return { seconds, out: `${r.stdout}\n${r.stderr}` };
}

if (!flags.includes("--no-build")) timed("tsc -p examples/fleet/tsconfig.json", process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "examples", "fleet", "tsconfig.json")], { cwd: root });
if (!fs.existsSync(main)) {
  console.error(`no compiled example at ${main}; run without --no-build`);
  process.exit(2);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-fleet-bench-"));
try {
  const data = path.join(work, "fleet.json");
  fs.writeFileSync(data, JSON.stringify(fleet(hosts, services, realServers)));
  const env = { ...process.env, FLEET_FILE: data, CDKTF_OUTDIR: path.join(work, "cdktf.out"), CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
  delete env.FLEET_PG_CONN_STR; // local state

  // cdktf's terraform_data class (DataResource) adds to each resource a validation that runs
  // `terraform version` (ValidateTerraformVersion ">=1.4"): one process per resource at synth.
  // The second synth preloads a patch that runs that check once per command, to show what a
  // library that checks the version once per stack would get. Its output is discarded.
  const preload = path.join(work, "version-check-once.js");
  fs.writeFileSync(
    preload,
    `const { ValidateBinaryVersion } = require(${JSON.stringify(path.join(root, "node_modules", "cdktf", "lib", "validations", "validate-binary-version.js"))});\n` +
      "const original = ValidateBinaryVersion.prototype.validate; const seen = new Map();\n" +
      "ValidateBinaryVersion.prototype.validate = function () { const k = this.versionCommand + ' ' + this.versionConstraint; if (!seen.has(k)) seen.set(k, original.call(this)); return seen.get(k); };\n",
  );
  const synthOnce = timed("synth (version check once)", process.execPath, ["-r", preload, main], { cwd: work, env: { ...env, CDKTF_OUTDIR: path.join(work, "cdktf.out.once") } });
  const synth = timed("synth", process.execPath, [main], { cwd: work, env });
  const versionChecks = (synth.seconds - synthOnce.seconds).toFixed(1);
  const stackDir = path.join(work, "cdktf.out", "stacks", "fleet");
  const tfJson = path.join(stackDir, "cdk.tf.json");
  const cfg = JSON.parse(fs.readFileSync(tfJson, "utf8"));
  const resources = Object.values(cfg.resource || {}).reduce((n, byName) => n + Object.keys(byName).length, 0);
  if (cfg.provider || Object.keys(cfg.terraform.backend || {}).join() !== "local") {
    console.error("the benchmark expects a stack without providers, on the local backend");
    process.exit(1);
  }

  const init = timed("terraform init", "terraform", ["init", "-input=false", "-no-color"], { cwd: stackDir, env });
  if (/Installing|Finding/.test(init.out)) console.error("warning: terraform init downloaded something");
  const plan = timed("terraform plan", "terraform", ["plan", "-input=false", "-no-color", "-lock=false", "-out=fleet.tfplan"], { cwd: stackDir, env });
  const planned = /Plan: (\d+) to add, (\d+) to change, (\d+) to destroy/.exec(plan.out);
  if (!planned || Number(planned[1]) !== resources) {
    console.error(`terraform plan did not plan ${resources} resources to add:\n${plan.out.slice(-3000)}`);
    process.exit(1);
  }
  const tfVersion = /Terraform v(\S+)/.exec(spawnSync("terraform", ["version"], { encoding: "utf8" }).stdout || "")?.[1] ?? "?";

  console.log(
    `Fleet: one stack, ${hosts} hosts x ${services} services (${realServers} masquerade real servers + 1 DNAT alias each), terraform_data engine, local state; ` +
      `node ${process.version}, Terraform ${tfVersion}, ${os.cpus().length} CPU(s), load ${os.loadavg()[0].toFixed(1)}\n`,
  );
  console.log("| hosts | services | resources | synth s (target < 10) | synth s, version checked once | terraform init s | plan s (target < 30) | cdk.tf.json KB |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  console.log(
    `| ${hosts} | ${hosts * services} | ${resources} | ${synth.seconds.toFixed(2)} | ${synthOnce.seconds.toFixed(2)} | ${init.seconds.toFixed(2)} | ${plan.seconds.toFixed(2)} | ${(fs.statSync(tfJson).size / 1024).toFixed(0)} |`,
  );
  console.log(
    "\nsynth: `node dist/examples/fleet/main.js` (process wall time: node start, reading the data file, constructs, cdk.tf.json); " +
      `"version checked once": the same with cdktf's per-resource \`terraform version\` check run once (${resources} checks cost ${versionChecks} s here); ` +
      "plan: `terraform plan` on an empty state.",
  );
} finally {
  if (flags.includes("--keep")) console.log(`work folder kept: ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}
