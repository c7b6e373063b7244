#!/usr/bin/env node
// Entry point of the cdktf-ipvs command; the code is compiled from lib/cli (npm run build).
// runCli never throws; this guard covers loading it (e.g. dist/ not built): one line, exit 2.
try {
  process.exitCode = require("../dist/lib/cli").runCli(process.argv.slice(2));
} catch (e) {
  const message = String((e && e.message) || e).replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  process.stderr.write(`cdktf-ipvs: internal error: ${message}\n`);
  process.exitCode = 2;
}
