// Checks what the consumer app synthesized (run in the app's directory): argv[2] is the library
// the app uses (cdktf or cdktn). Exits non-zero with the first difference.
const assert = require("assert");
const fs = require("fs");
const path = require("path");

const lib = process.argv[2];
const read = (stack) => JSON.parse(fs.readFileSync(path.join("cdktf.out", "stacks", stack, "cdk.tf.json"), "utf8"));
const steps = (resources) => Object.values(resources).map((r) => (r.triggers ?? r.triggers_replace).step).sort();
const STEPS = ["aliases", "boot", "ipvs", "modules", "sysctls", "upload", "verify"];

// Default engine: null_resource steps and the null provider the library added, once.
const seed = read("seed");
assert.deepStrictEqual(Object.keys(seed.resource), ["null_resource"]);
assert.deepStrictEqual(steps(seed.resource.null_resource), STEPS);
assert.deepStrictEqual(seed.provider, { null: [{}] });
assert.deepStrictEqual(seed.terraform.required_providers, { null: { source: "null", version: "3.2.4" } });
assert.match(JSON.stringify(steps && Object.values(seed.resource.null_resource).find((r) => r.triggers.step === "sysctls").triggers), /net\.ipv4\.vs\.conntrack/);
assert.ok(seed.output.lb1_ipvs_summary && seed.output.lb1_ipvs_manifest_sha256, "outputs");

// terraform_data engine: nothing to download.
const data = read("seed-data");
assert.deepStrictEqual(Object.keys(data.resource), ["terraform_data"]);
assert.deepStrictEqual(steps(data.resource.terraform_data), STEPS);
assert.strictEqual(data.provider, undefined);

// One copy of the CDK and of constructs, the app's; the other CDK absent.
const copies = (name) => require("child_process").execFileSync("find", ["node_modules", "-path", `*node_modules/${name}/package.json`], { encoding: "utf8" }).split("\n").filter(Boolean);
assert.deepStrictEqual(copies(lib), [`node_modules/${lib}/package.json`]);
assert.deepStrictEqual(copies("constructs"), ["node_modules/constructs/package.json"]);
assert.deepStrictEqual(copies(lib === "cdktf" ? "cdktn" : "cdktf"), []);
assert.strictEqual(require(path.resolve("node_modules/cdktf-ipvs")).CDK_LIBRARY, lib);

// The package's entry points: the public API, cdktf-ipvs/internal, nothing deeper.
const api = require(path.resolve("node_modules/cdktf-ipvs"));
assert.strictEqual(typeof api.IpvsHost, "function");
assert.strictEqual(api.shQuote, undefined);
const resolveFromApp = (id) => require.resolve(id, { paths: [process.cwd()] });
assert.strictEqual(typeof require(resolveFromApp("cdktf-ipvs/internal")).shQuote, "function");
assert.throws(() => resolveFromApp("cdktf-ipvs/dist/lib/plan"), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
// The installed CLI reads what the app synthesized (it needs no CDK).
const policy = require("child_process").spawnSync(path.join("node_modules", ".bin", "cdktf-ipvs"), ["policy", "cdktf.out", "--json"], { encoding: "utf8" });
assert.strictEqual(policy.status, 0, policy.stderr);
assert.match(policy.stdout, /IPVS108/);
console.log(`consumer ${lib}: seed (null_resource, provider added once) and seed-data (terraform_data) synthesized`);
