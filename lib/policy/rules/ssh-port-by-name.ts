import { hostPort, serviceKeyOf } from "../../model";
import { HostRule } from "../rule";

export const sshPortByName: HostRule = {
  id: "IPVS008",
  level: "warning",
  summary: "A TCP virtual service or remote-clients alias listens on the SSH port, and Terraform reaches the host by a name that cannot be checked at synth time.",
  explanation:
    "Terraform provisions and destroys the host over SSH, and the boot unit re-applies IPVS and the alias rules at every boot. If the SSH name resolves to the address of a TCP service or alias on the SSH port, IPVS (or the alias NAT) takes over the SSH connections: the deploy loses its own connection, and neither a later apply nor destroy can reach the host. With an IP address the model refuses this outright; with a DNS name (or a value only known at apply time) it cannot tell.",
  fix: "Move the service or alias to another port, or run sshd on another port; or give the SSH endpoint as an IP address so the conflict is checked exactly.",
  check: (host) => {
    const ssh = host.ssh;
    if (!ssh || ssh.kind === "address") return [];
    const where = ssh.kind === "name" ? `ssh ${ssh.host}:${ssh.port}` : `ssh to an address only known at apply time, port ${ssh.port}`;
    const unknown = ssh.kind === "name" ? `cannot tell whether ${ssh.host} resolves to` : "cannot tell whether that address is";
    const hits = [];
    for (const s of host.services) {
      if (s.kind === "address" && s.protocol === "tcp" && s.port === ssh.port) {
        hits.push({ path: s.path, detail: `virtual service ${serviceKeyOf(s)} is on the SSH port of host ${host.name} (${where}); cdktf-ipvs ${unknown} ${s.address}` });
      }
    }
    for (const a of host.aliases) {
      if (a.remoteClients && a.protocol === "tcp" && a.port === ssh.port) {
        hits.push({ path: a.path, detail: `alias tcp ${hostPort(a.family, a.address, a.port)} is on the SSH port of host ${host.name} (${where}); cdktf-ipvs ${unknown} ${a.address}` });
      }
    }
    return hits;
  },
};
