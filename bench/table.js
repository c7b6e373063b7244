#!/usr/bin/env node
// Prints bench/guest-userland.sh's figures (USERLAND TAB NAME TAB MS lines) as one markdown table:
// one row per figure, per userland its time and its ratio to what its target compares it with.
//
//   node bench/table.js RESULTS.tsv USERLAND...
"use strict";
const fs = require("fs");

const [file, ...userlands] = process.argv.slice(2);
const ms = {}; // ms[userland][name]
const info = {};
for (const line of fs.readFileSync(file, "utf8").split("\n")) {
  const [u, name, value] = line.split("\t");
  if (!u || name === undefined) continue;
  if (name === "info") { info[u] = value; continue; }
  // A figure measured more than once: the fastest run (the least disturbed by other load).
  const m = (ms[u] ??= {});
  m[name] = m[name] === undefined ? Number(value) : Math.min(m[name], Number(value));
}

const READ = "read the tables once";
const BATCH = "bare batch (ipvsadm -R + iptables-restore)";
const DELETE = "bare delete batch (ipvsadm -R of -D + iptables-restore)";
const DRAIN = "bare drain and delete (weight-0 batch, ipvsadm -Ln, -D batch, iptables-restore)";
const BASELINE = "per-rule baseline (one ipvsadm/iptables call per rule)";
// name, what its ratio is to, the target (max ratio; "min" for the baseline's speed-up), label of the reference
const rows = [
  [READ, READ, null, "read"],
  [BATCH, BATCH, null, "batch"],
  [DELETE, DELETE, null, "delete batch"],
  ["first apply", BATCH, 1.5, "batch"],
  ["no-op apply", READ, 1.5, "read"],
  ["verify", READ, 1.5, "read"],
  ["one weight changed", READ, 2, "read"],
  [DRAIN, DELETE, null, "delete batch"],
  ["destroy", DELETE, 2, "delete batch"],
  ["destroy", BATCH, 2, "batch"],
  ["destroy", DRAIN, null, "bare drain and delete"],
  [BASELINE, "first apply", 20, "first apply", "min"],
];

const s = (v) => `${(v / 1000).toFixed(1)} s`;
const out = [];
out.push(`| figure | target | ${userlands.map((u) => `${u}: time | ratio`).join(" | ")} |`);
out.push(`|---|---|${userlands.map(() => "---:|---").join("|")}|`);
for (const [name, ref, target, refLabel, kind] of rows) {
  if (userlands.every((u) => ms[u]?.[name] === undefined)) continue;
  const targetText = target === null ? "" : kind === "min" ? `≥ ${target}× the first apply` : `≤ ${target}× ${refLabel}`;
  const cells = userlands.map((u) => {
    const v = ms[u]?.[name];
    const r = ms[u]?.[ref];
    if (v === undefined) return "– | –";
    if (r === undefined || r === 0) return `${s(v)} | –`;
    const ratio = v / r;
    if (target === null) return `${s(v)} | ${name === ref ? "1.0×" : `${ratio.toFixed(2)}× ${refLabel}`}`;
    const ok = kind === "min" ? ratio >= target : ratio <= target;
    return `${s(v)} | ${ratio.toFixed(2)}× ${refLabel} ${ok ? "✓" : "✗"}`;
  });
  out.push(`| ${name} | ${targetText} | ${cells.join(" | ")} |`);
}
console.log(out.join("\n"));
for (const u of userlands) if (info[u]) console.log(`\n${u}: ${info[u]}`);
