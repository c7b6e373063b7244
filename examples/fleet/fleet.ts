/**
 * A fleet of IPVS load balancers in one stack, declared from a data file (fleet.json): one
 * IpvsHost per host, each host's services in the spec.json format (`cdktf-ipvs` CLI, schema/),
 * plus how Terraform reaches it. Terraform deploys the hosts in parallel (each host's steps are a
 * chain of their own; `terraform apply -parallelism=N`, default 10), and a host that fails (down,
 * unreachable) fails only its own chain: the others converge and the apply then exits non-zero.
 *
 * State: with `pg.connStr` (main.ts: $FLEET_PG_CONN_STR) in Terraform's pg backend (PostgreSQL,
 * with locking, so CI and laptops can share it); otherwise cdktf's default local state file.
 *
 * fleet.json:
 *   {
 *     "engine": "terraform_data",                       // default; or "null_resource"
 *     "defaults": { "connection": { "user": "root", "privateKeyPath": "~/.ssh/id_ed25519" } },
 *     "hosts": [
 *       { "name": "lb1", "connection": { "host": "10.0.0.11" }, "virtualServices": [ ... ] }
 *     ]
 *   }
 *
 * No secrets in the data file: keys are given as paths (IpvsHost refuses key text), and the
 * PostgreSQL connection string comes from the environment, without a password (see pgConnStr).
 */
import { PgBackend, TerraformStack } from "cdktf";
import { NullProvider } from "@cdktf/provider-null/lib/provider";
import { Construct } from "constructs";
import { HostSpec, IpvsHost, IpvsModelError, ProvisioningEngine, SshConnectionProps } from "../../lib";

/** One host of the fleet: a spec.json host plus its connection. */
export interface FleetHost extends HostSpec {
  /** How Terraform reaches the host; merged over defaults.connection. */
  readonly connection: Partial<SshConnectionProps>;
}

export interface FleetFile {
  /** Provisioning engine of every host. @default "terraform_data" */
  readonly engine?: ProvisioningEngine;
  /** Connection settings shared by every host (user, privateKeyPath, timeout, bastion...). */
  readonly defaults?: { readonly connection?: Partial<SshConnectionProps> };
  readonly hosts: readonly FleetHost[];
}

export interface PgStateOptions {
  /**
   * libpq connection string of the state database (postgres://user@host:port/db?sslmode=...).
   * It is written into cdk.tf.json and .terraform/, so it must not hold a password: give that in
   * PGPASSWORD (Terraform's pg backend, lib/pq, reads the libpq environment variables).
   */
  readonly connStr: string;
  /** Schema of the state table. @default "terraform_remote_state" (Terraform's default) */
  readonly schemaName?: string;
}

export interface FleetStackOptions {
  /** Keep the state in PostgreSQL (Terraform's pg backend). @default the local state file */
  readonly pg?: PgStateOptions;
}

const FILE_KEYS = ["$schema", "$comment", "engine", "defaults", "hosts"];

export class FleetStack extends TerraformStack {
  readonly hosts: IpvsHost[] = [];

  constructor(scope: Construct, id: string, fleet: FleetFile, options: FleetStackOptions = {}) {
    super(scope, id);
    checkFleetFile(fleet);
    const engine = fleet.engine ?? "terraform_data";
    if (engine === "null_resource") new NullProvider(this, "null");
    if (options.pg) {
      checkConnStr(options.pg.connStr);
      new PgBackend(this, { connStr: options.pg.connStr, ...(options.pg.schemaName ? { schemaName: options.pg.schemaName } : {}) });
    }

    // Every host is checked, and all problems are reported together, each under its host's path.
    const problems: string[] = [];
    for (const entry of fleet.hosts) {
      const { connection, ...spec } = entry;
      try {
        this.hosts.push(
          IpvsHost.fromSpec(this, spec.name, spec, {
            engine,
            connection: { ...fleet.defaults?.connection, ...connection } as SshConnectionProps,
          }),
        );
      } catch (e) {
        if (!(e instanceof IpvsModelError)) throw e;
        problems.push(e.message);
      }
    }
    if (problems.length > 0) throw new Error(`fleet: ${problems.length} host(s) are invalid:\n${problems.join("\n")}`);
  }
}

/** The shape fromSpec does not check: the file's own keys, the hosts list and each connection. */
function checkFleetFile(fleet: FleetFile): void {
  const errors: string[] = [];
  if (typeof fleet !== "object" || fleet === null || Array.isArray(fleet)) throw new Error("fleet: the data file must hold a JSON object");
  for (const key of Object.keys(fleet)) if (!FILE_KEYS.includes(key)) errors.push(`unknown key "${key}" (allowed: ${FILE_KEYS.join(", ")})`);
  if (!Array.isArray(fleet.hosts) || fleet.hosts.length === 0) errors.push(`"hosts" must be a non-empty list`);
  const seen = new Set<string>();
  (Array.isArray(fleet.hosts) ? fleet.hosts : []).forEach((h, i) => {
    const at = `hosts[${i}]`;
    if (typeof h !== "object" || h === null) {
      errors.push(`${at}: must be an object`);
      return;
    }
    if (typeof h.name !== "string") errors.push(`${at}: "name" is required`);
    else if (seen.has(h.name)) errors.push(`${at}: host name "${h.name}" is used twice`);
    else seen.add(h.name);
    const host = h.connection?.host ?? fleet.defaults?.connection?.host;
    if (typeof h.connection !== "object" || h.connection === null || typeof host !== "string") errors.push(`${at}: "connection.host" is required`);
    if ((h as { ssh?: unknown }).ssh !== undefined) errors.push(`${at}: give "connection", not "ssh" (Terraform connects where connection says)`);
  });
  if (errors.length > 0) throw new Error(`fleet: ${errors.join("\n")}`);
}

/** Refuses a connection string that carries a password (it would be written into cdk.tf.json). */
export function checkConnStr(connStr: string): void {
  if (typeof connStr !== "string" || connStr.trim() === "") throw new Error("fleet: the PostgreSQL connection string is empty");
  let hasPassword = /(^|\s)password\s*=/i.test(connStr);
  if (/^postgres(ql)?:\/\//i.test(connStr)) {
    try {
      const url = new URL(connStr);
      hasPassword = hasPassword || url.password !== "" || url.searchParams.has("password");
    } catch {
      throw new Error("fleet: the PostgreSQL connection string is not a valid postgres:// URL");
    }
  }
  if (hasPassword) {
    throw new Error(
      "fleet: the PostgreSQL connection string holds a password; it would be written into cdk.tf.json and " +
        ".terraform/terraform.tfstate. Leave it out and set PGPASSWORD where Terraform runs (the pg backend reads it).",
    );
  }
}
