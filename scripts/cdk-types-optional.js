#!/usr/bin/env node
/**
 * After tsc: lets a CDK Terrain (cdktn) app type-check our declarations without skipLibCheck.
 * dist/lib/constructs/cdk.d.ts takes the CDK's types from "cdktf" (a devDependency here), which a
 * cdktn app does not have. A `// @ts-ignore` before each such import makes the app's compiler read
 * those types as `any` instead of failing with TS2307; a cdktf app still gets them in full. (tsc
 * drops comments on imports from declaration output, so they are added here.) Fails when the file
 * or its imports are not as expected, so a change cannot silently undo it.
 */
const fs = require("fs");
const path = require("path");

const file = path.join(__dirname, "..", "dist", "lib", "constructs", "cdk.d.ts");
const MARK = "// @ts-ignore TS2307 in an app without cdktf (CDK Terrain): these types are then any";
const lines = fs.readFileSync(file, "utf8").split("\n");
const out = [];
let imports = 0;
for (let i = 0; i < lines.length; i++) {
  if (/^import type .* from "cdktf(\/[^"]*)?";$/.test(lines[i])) {
    imports++;
    if (lines[i - 1] !== MARK) out.push(MARK);
  }
  out.push(lines[i]);
}
if (imports === 0) {
  console.error(`${file}: no type import from "cdktf" found; update scripts/cdk-types-optional.js`);
  process.exit(1);
}
fs.writeFileSync(file, out.join("\n"));
