import { StackRule } from "./rule";

export const stackHostKeyUnchecked: StackRule = {
  id: "IPVS108",
  level: "info",
  summary: "The SSH connection does not pin the host's key, so Terraform does not check whom it gives root commands to.",
  explanation:
    "Without host_key, Terraform's SSH client accepts any host key: whoever answers at that address (a reinstalled host, a spoofed one) receives the provisioners, which run as root. Through a bastion, bastion_host_key does the same for the first hop, which carries the connection.",
  // Terraform's SSH client asks for ECDSA host keys first (then RSA, Ed25519 last): pinning the
  // Ed25519 key of a default OpenSSH server fails with "knownhosts: key mismatch" (seen in the lab).
  fix: "Set host_key (and, through a bastion, bastion_host_key) to the host's public key of the type Terraform's SSH client negotiates: on a default OpenSSH server the first two fields of /etc/ssh/ssh_host_ecdsa_key.pub (not the Ed25519 key); cdktf-ipvs: connection.hostKey and connection.bastion.hostKey.",
  check(host, _facts, stack) {
    const resources = stack.stack.resources.filter((r) => host.resources.includes(r.address) && r.connection !== undefined);
    // A provisioner's own connection block overrides the resource's field by field.
    const pinned = (r: (typeof resources)[number], key: string) => r.connection![key] !== undefined || r.provisioners.some((p) => p.connection?.[key] !== undefined);
    const viaBastion = (r: (typeof resources)[number]) => r.connection!.bastion_host !== undefined || r.provisioners.some((p) => p.connection?.bastion_host !== undefined);
    const missing = resources
      .map((r) => ({ r, keys: [...(pinned(r, "host_key") ? [] : ["host_key"]), ...(viaBastion(r) && !pinned(r, "bastion_host_key") ? ["bastion_host_key"] : [])] }))
      .filter((m) => m.keys.length > 0);
    if (missing.length === 0) return [];
    // Once per host: every resource connecting there shares the same answer.
    const others = missing.length > 1 ? ` (and ${missing.length - 1} more resource(s) connecting there)` : "";
    return [{ resource: missing[0].r.address, command: "connection", detail: `connection to ${host.target.key} has no ${missing[0].keys.join(" and no ")}${others}` }];
  },
};
