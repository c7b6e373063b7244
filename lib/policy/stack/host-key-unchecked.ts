import { StackRule } from "./rule";

export const stackHostKeyUnchecked: StackRule = {
  id: "IPVS108",
  level: "info",
  summary: "The SSH connection does not pin the host's key, so Terraform does not check whom it gives root commands to.",
  explanation:
    "Without host_key, Terraform's SSH client accepts any host key: whoever answers at that address (a reinstalled host, a spoofed one) receives the provisioners, which run as root.",
  // Terraform's SSH client asks for ECDSA host keys first (then RSA, Ed25519 last): pinning the
  // Ed25519 key of a default OpenSSH server fails with "knownhosts: key mismatch" (seen in the lab).
  fix: "Set host_key to the host's public key of the type Terraform's SSH client negotiates: on a default OpenSSH server the first two fields of /etc/ssh/ssh_host_ecdsa_key.pub (not the Ed25519 key); cdktf-ipvs: connection.hostKey.",
  check(host, _facts, stack) {
    const unpinned = stack.stack.resources
      .filter((r) => host.resources.includes(r.address) && r.connection !== undefined)
      .filter((r) => r.connection!.host_key === undefined && r.provisioners.every((p) => p.connection?.host_key === undefined));
    if (unpinned.length === 0) return [];
    // Once per host: every resource connecting there shares the same answer.
    const others = unpinned.length > 1 ? ` (and ${unpinned.length - 1} more resource(s) connecting there)` : "";
    return [{ resource: unpinned[0].address, command: "connection", detail: `connection to ${host.target.key} has no host_key${others}` }];
  },
};
