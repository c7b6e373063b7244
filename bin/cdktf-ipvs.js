#!/usr/bin/env node
// Entry point of the cdktf-ipvs command; the code is compiled from lib/cli (npm run build).
process.exitCode = require("../dist/lib/cli").runCli(process.argv.slice(2));
