/**
 * The imported host as TypeScript: a function that declares it with IpvsHost, addVirtualService,
 * addRealServer and addAlias, for teams that keep their stacks in code rather than in spec.json.
 * Every value is written with JSON.stringify, so nothing from the host can break out of a literal.
 */
import { HostSpec } from "../model";

export interface TypeScriptOptions {
  /** Module the constructs are imported from. @default "cdktf-ipvs" */
  readonly importFrom?: string;
  /** Comment lines put above the function (where the dumps came from). */
  readonly header?: readonly string[];
}

const lit = (v: unknown) => JSON.stringify(v);

/** `{ a: 1, "b-c": 2 }`: keys that are identifiers unquoted. */
function objectLiteral(obj: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : lit(k)}: ${v !== null && typeof v === "object" && !Array.isArray(v) ? objectLiteral(v as Record<string, unknown>) : lit(v)}`);
  return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`;
}

function functionName(host: string): string {
  const words = host.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const camel = words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  return `add${/^[0-9]/.test(camel) ? `Host${camel}` : camel || "Host"}`;
}

/**
 * `export function addLb1(scope, props) { const host = new IpvsHost(scope, "lb1", {...}); ... }`:
 * props carries the connection (and engine); the host-level settings come from the import.
 */
export function importedHostTypeScript(spec: HostSpec, options: TypeScriptOptions = {}): string {
  const from = options.importFrom ?? "cdktf-ipvs";
  const hostSettings: Record<string, unknown> = {
    conntrack: spec.conntrack,
    expireNodestConn: spec.expireNodestConn,
    expireQuiescentTemplate: spec.expireQuiescentTemplate,
    sysctls: spec.sysctls,
  };
  const lines: string[] = [];
  for (const h of options.header ?? []) lines.push(`// ${h.replace(/[^\x20-\x7e]/g, "?")}`);
  lines.push(`import { Construct } from "constructs";`);
  lines.push(`import { IpvsHost, IpvsHostProps } from ${lit(from)};`);
  lines.push("");
  lines.push(`/** Host ${spec.name.replace(/\*\//g, "")} as imported; adopt: true lets the first apply take over its existing services. */`);
  lines.push(`export function ${functionName(spec.name)}(scope: Construct, props: IpvsHostProps): IpvsHost {`);
  const settings = objectLiteral(hostSettings);
  lines.push(`  const host = new IpvsHost(scope, ${lit(spec.name)}, ${settings === "{}" ? "props" : `{ ...props, ${settings.slice(2, -2)} }`});`);
  (spec.virtualServices ?? []).forEach((svc, i) => {
    const { name, realServers, aliases, ...props } = svc;
    const v = `s${i}`;
    lines.push(`  const ${v} = host.addVirtualService(${lit(name)}, ${objectLiteral(props as Record<string, unknown>)});`);
    for (const rs of realServers ?? []) lines.push(`  ${v}.addRealServer(${objectLiteral(rs as unknown as Record<string, unknown>)});`);
    for (const a of aliases ?? []) lines.push(`  ${v}.addAlias(${objectLiteral(a as unknown as Record<string, unknown>)});`);
  });
  lines.push("  return host;");
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
