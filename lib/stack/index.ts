/**
 * lib/stack: any synthesized Terraform JSON (cdktf, CDK Terrain, hand-written *.tf.json, or
 * `terraform show -json` plan) → provisioning resources → shell commands → recognized events
 * (ipvsadm, nat rules, sysctl, sysctl.d / modules-load.d files, modprobe) in run order per host.
 *
 *   loadStackModels(path)            → StackModel[]   (file, stack dir, cdktf.out, plan JSON)
 *   buildStackModel(readStackJson(json))              (JSON already in memory)
 *   model.hosts[i].create / .destroy → HostEvent[]    (event + step + origin), one run order
 *   model.hosts[i].order(a, b)       → "before" | "after" | "unordered"
 *
 * What is not known, and so not claimed:
 * - Plan JSON keeps no connection blocks and no `when`: one host (`PLAN_JSON_HOST`), when "unknown".
 * - Commands inside `if`, loops and function bodies are taken as run, in text order.
 * - Words with $VAR, $(...) or an unresolved Terraform `${...}` are marked `dynamic`.
 * - Files are followed (uploaded/written, then run or loaded) within a resource and from resources
 *   it depends on, on the same host; not from unordered resources, not through `cp`/`mv`/`tar`.
 * - local-exec is not analyzed (a note when it runs ssh); `count`/`for_each` are noted, not expanded.
 * - nft is read best effort (rules with redirect/dnat statements).
 */
export * from "./terraform-json";
export * from "./shell-data";
export * from "./commands";
export * from "./recognize";
export * from "./host-model";
export * from "./desired-states";
