import { StackRule } from "./rule";

/** Text that is a private key, not a path or a reference to one. */
const KEY_TEXT = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File|---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----|b3BlbnNzaC1rZXktdjE/;

export const stackKeyTextInline: StackRule = {
  id: "IPVS107",
  level: "error",
  summary: "SSH private key text is written into the stack.",
  explanation:
    "Whatever a synthesized stack holds ends up in version control, CI logs, plan files and the state, where `terraform show -json` prints it in clear text. A load balancer's root key must not travel that way.",
  fix: "Read the key at apply time: private_key = file(var.key_path) (cdktf-ipvs: connection.privateKeyPath), or use the SSH agent.",
  check(host, _facts, stack) {
    return stack.stack.resources
      .filter((r) => host.resources.includes(r.address))
      .filter((r) => KEY_TEXT.test(JSON.stringify([r.connection ?? {}, r.attributes, r.provisioners.map((p) => p.connection ?? {})])))
      .map((r) => ({ resource: r.address, command: "connection.private_key", detail: "holds private key text (redacted here)" }));
  },
};
