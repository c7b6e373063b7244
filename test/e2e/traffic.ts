/** Client traffic inside the lab guest: from netns "client" (another host) or from the LB itself. */
import { LabGuest, TOPOLOGY } from "./lab";

export type Transport = "tcp4" | "tcp6" | "udp4" | "udp6";

export interface ConnectOptions {
  transport?: Transport;
  /** Run from the client netns (default) or from the load balancer's own namespace. */
  from?: "client" | "lb";
}

/** N connections to ADDRESS:PORT; each result is the backend's answer ("port-1001") or "FAIL". */
export function connectN(guest: LabGuest, address: string, port: number, n: number, opts: ConnectOptions = {}): string[] {
  const transport = opts.transport ?? "tcp4";
  const target = transport.endsWith("6") ? `[${address}]:${port}` : `${address}:${port}`;
  const socatAddr =
    transport.startsWith("tcp") ? `${transport.toUpperCase()}:${target},connect-timeout=3` : `${transport.toUpperCase()}:${target}`;
  // UDP has no handshake: send one datagram and wait up to 3 s for the answer. -t3: once stdin
  // ends, socat waits up to 3 s (default 0.5) for the backend's answer; a loaded 1-vCPU guest
  // can take longer than 0.5 s to fork the backend's echo, which read as "no answer" (the lab
  // backends wait for their echo likewise, -t5). An answer ends the wait at once.
  const input = transport.startsWith("udp") ? "echo ping" : "true";
  const prefix = (opts.from ?? "client") === "client" ? `ip netns exec ${TOPOLOGY.clientNetns} ` : "";
  const out = guest.sshOk(
    `for i in $(seq ${n}); do ` +
      `r=$(${input} | ${prefix}socat -T3 -t3 - ${socatAddr} 2>/dev/null) && [ -n "$r" ] && echo "$r" || echo FAIL; done`,
    { timeoutMs: 60_000 + n * 8000 },
  );
  return out.trim().split("\n").map((l) => l.trim());
}

/** Every answer came from a backend, consecutive answers differ, and both backends answered. */
export function isRoundRobin(results: string[]): boolean {
  return (
    results.every((r) => /^port-100[12]$/.test(r)) &&
    results.every((r, i) => i === 0 || r !== results[i - 1]) &&
    new Set(results).size === 2
  );
}
