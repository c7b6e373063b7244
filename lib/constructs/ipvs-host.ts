/**
 * Thin cdktf wrappers: IpvsHost collects what the user declares, hands it to lib/model,
 * lib/plan and lib/render, and wires the rendered scripts into a fixed chain of provisioning
 * resources (one per plan step, not one per rule).
 */
import { Annotations, Fn, Lazy, TerraformResource, TerraformSelf, TerraformVariable, Token } from "cdktf";
import { Construct, IValidation } from "constructs";
import {
  AliasSpec,
  DesiredHost,
  HostSpec,
  IpvsModelError,
  ModelIssue,
  PathNamer,
  PersistenceSpec,
  Protocol,
  RealServerSpec,
  Scheduler,
  VirtualServiceSpec,
  buildDesiredHost,
  formatIssue,
} from "../model";
import { HostPlan, STEP_NAMES, StepName, planHost } from "../plan";
import { checkHost, formatFinding } from "../policy";
import { HOST_LAYOUT, RenderedHost, renderHost, stepCommands } from "../render";
import { PROVISIONING_ENGINES, ProvisioningEngine, createStepResource, selfInput, selfTrigger } from "./engine";
import { escapeTerraformTemplate } from "./terraform-text";

export interface SshConnectionProps {
  /** Address or name Terraform connects to over SSH. */
  readonly host: string;
  /**
   * Remote user; the scripts need root (modules, sysctls, IPVS, iptables).
   * @default "root"
   */
  readonly user?: string;
  /**
   * SSH port, 1–65535.
   * @default 22
   */
  readonly port?: number;
  /**
   * Private key text from a sensitive Terraform variable, so the key never appears in
   * cdk.tf.json. Terraform hides provisioner output when the connection holds a sensitive value;
   * prefer privateKeyPath or agent to see the scripts' logs.
   * @default none
   */
  readonly privateKey?: TerraformVariable;
  /**
   * Path of a private key file on the machine running Terraform, read with file() at apply time.
   * @default none
   */
  readonly privateKeyPath?: string;
  /**
   * Use the SSH agent.
   * @default true when neither privateKey nor privateKeyPath is given
   */
  readonly agent?: boolean;
  /**
   * The host's public key (e.g. "ssh-ed25519 AAAA..."); when set, Terraform checks it.
   * @default not checked
   */
  readonly hostKey?: string;
  /**
   * How long Terraform waits for SSH.
   * @default "5m"
   */
  readonly timeout?: string;
}

export interface IpvsHostProps {
  /** How Terraform reaches the load balancer. */
  readonly connection: SshConnectionProps;
  /**
   * Resource type that runs the provisioning: "null_resource" (@cdktf/provider-null) or
   * "terraform_data" (built into Terraform ≥ 1.4; nothing to download).
   * @default "null_resource"
   */
  readonly engine?: ProvisioningEngine;
  /**
   * Host name in logs, comments and output folders. [A-Za-z0-9_.-], 1–63 characters.
   * @default the construct id
   */
  readonly hostName?: string;
  /**
   * Keep net.ipv4.vs.conntrack=1. Cannot be false while the host has an alias.
   * @default true when the host has an alias, otherwise not managed
   */
  readonly conntrack?: boolean;
  /**
   * The host's own addresses besides its service addresses; masquerading to any other address
   * turns on IP forwarding.
   * @default none
   */
  readonly localAddresses?: string[];
  /**
   * Further sysctls, e.g. `{ "net.ipv4.vs.expire_nodest_conn": 1 }`.
   * @default none
   */
  readonly sysctls?: Record<string, string | number>;
}

export interface VirtualServiceProps {
  /**
   * Transport protocol.
   * @default "tcp"
   */
  readonly protocol?: Protocol;
  /** Virtual address (IPv4 or IPv6); give address+port or fwmark. */
  readonly address?: string;
  /** Virtual port, 1–65535. */
  readonly port?: number;
  /** Firewall mark, 1–4294967295, instead of address+port. */
  readonly fwmark?: number;
  /**
   * Address family of a firewall-mark service.
   * @default "ipv4"
   */
  readonly family?: "ipv4" | "ipv6";
  /**
   * Scheduler: rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf twos.
   * @default "wlc"
   */
  readonly scheduler?: Scheduler;
  /**
   * Scheduler flags: sh-fallback, sh-port (sh); mh-fallback, mh-port (mh).
   * @default none
   */
  readonly schedulerFlags?: string[];
  /**
   * Client persistence.
   * @default none
   */
  readonly persistence?: PersistenceSpec;
}

/** Props of a real server; see RealServerSpec for each field. */
export type RealServerProps = RealServerSpec;
/** Props of an alias; see AliasSpec for each field. */
export type AliasProps = AliasSpec;

/** A virtual service on an IpvsHost. Create it with IpvsHost.addVirtualService. */
export class VirtualService extends Construct {
  private readonly realServers: RealServerSpec[] = [];
  private readonly aliases: AliasSpec[] = [];

  /** @internal */
  constructor(
    private readonly host: IpvsHost,
    id: string,
    private readonly props: VirtualServiceProps,
  ) {
    super(host, id);
  }

  /** Adds a real server; bad values or conflicts throw an IpvsModelError right here. */
  addRealServer(props: RealServerProps): this {
    this.realServers.push({ ...props });
    this.host.revalidate(() => this.realServers.pop());
    return this;
  }

  /**
   * Adds a port that reaches this service through iptables nat (REDIRECT or DNAT). Makes
   * net.ipv4.vs.conntrack=1 part of the host's desired state.
   */
  addAlias(props: AliasProps): this {
    this.aliases.push({ ...props });
    this.host.revalidate(() => this.aliases.pop());
    return this;
  }

  /** @internal */
  toSpec(): VirtualServiceSpec {
    return { name: this.node.id, ...this.props, realServers: [...this.realServers], aliases: [...this.aliases] };
  }
}

/**
 * One Linux IPVS load balancer, provisioned over SSH in order: modules → sysctls → IPVS →
 * aliases → boot-time restore → verify; destroyed in reverse.
 */
export class IpvsHost extends Construct {
  /** The provisioning resources, one per step, each depending on the one before. */
  readonly steps: Readonly<Record<StepName, TerraformResource>>;
  readonly engine: ProvisioningEngine;
  private readonly services: VirtualService[] = [];
  private cached?: { host: DesiredHost; plan: HostPlan; rendered: RenderedHost };

  constructor(scope: Construct, id: string, private readonly props: IpvsHostProps) {
    super(scope, id);
    this.engine = props.engine ?? "null_resource";
    const problems = checkHostProps(this.node.path, props);
    const twin = this.sameMachine();
    if (twin) {
      problems.push({
        path: this.node.path,
        prop: "connection.host",
        value: props.connection.host,
        message: `connection.host "${props.connection.host}" port ${props.connection.port ?? 22} is already managed by ${twin.node.path}; declare one IpvsHost per machine (both would own the same chains, files and IPVS services)`,
      });
    }
    if (problems.length) throw new IpvsModelError(problems);
    this.revalidate(() => undefined);

    const conn = props.connection;
    const triggersBase: Record<string, string> = {
      host: conn.host,
      port: String(conn.port ?? 22),
      user: conn.user ?? "root",
    };
    const inputs: Record<string, string> = {};
    if (conn.privateKey) inputs.private_key = conn.privateKey.stringValue;
    if (conn.privateKeyPath) inputs.private_key_path = conn.privateKeyPath;

    const connection: Record<string, unknown> = {
      type: "ssh",
      host: selfTrigger(this.engine, "host"),
      port: selfTrigger(this.engine, "port"),
      user: selfTrigger(this.engine, "user"),
      timeout: conn.timeout ?? "5m",
    };
    if (conn.privateKey) connection.privateKey = selfInput(this.engine, "private_key");
    else if (conn.privateKeyPath) connection.privateKey = Fn.file(selfInput(this.engine, "private_key_path"));
    const agent = conn.agent ?? (!conn.privateKey && !conn.privateKeyPath);
    connection.agent = agent ? "true" : "false";
    if (conn.hostKey) connection.hostKey = conn.hostKey;

    const steps: Partial<Record<StepName, TerraformResource>> = {};
    let upstream: TerraformResource | undefined;
    for (const step of STEP_NAMES) {
      const stepHash = Lazy.stringValue({ produce: () => this.planned().plan.steps.find((s) => s.name === step)!.hash });
      const triggers: Record<string, string> = { ...triggersBase, step, step_hash: stepHash };
      if (upstream) triggers.upstream = upstream.getStringAttribute("id");
      const resource = createStepResource(this, step, this.engine, {
        triggers,
        inputs,
        connection,
        dependsOn: upstream ? [upstream] : [],
        provisioners: this.provisionersFor(step),
      });
      steps[step] = resource;
      upstream = resource;
    }
    this.steps = steps as Record<StepName, TerraformResource>;

    this.node.addValidation(new HostValidation(this));
  }

  /**
   * An IpvsHost declared by a host entry of a spec.json (the CLI's format): keep the load
   * balancer's services in JSON and still deploy them with cdktf. Host-level settings in the spec
   * (conntrack, localAddresses, sysctls) apply unless props set them.
   */
  static fromSpec(scope: Construct, id: string, spec: HostSpec, props: IpvsHostProps): IpvsHost {
    const host = new IpvsHost(scope, id, {
      ...props,
      hostName: props.hostName ?? spec.name,
      conntrack: props.conntrack ?? spec.conntrack,
      localAddresses: props.localAddresses ?? (spec.localAddresses ? [...spec.localAddresses] : undefined),
      sysctls: props.sysctls ?? (spec.sysctls ? { ...spec.sysctls } : undefined),
    });
    for (const { name, realServers = [], aliases = [], ...svcProps } of spec.virtualServices ?? []) {
      const svc = host.addVirtualService(name, { ...svcProps, schedulerFlags: svcProps.schedulerFlags ? [...svcProps.schedulerFlags] : undefined });
      for (const rs of realServers) svc.addRealServer(rs);
      for (const alias of aliases) svc.addAlias(alias);
    }
    return host;
  }

  /** Another IpvsHost in the app that connects to the same machine, if any. */
  private sameMachine(): IpvsHost | undefined {
    const c = this.props.connection;
    if (!c || Token.isUnresolved(c.host)) return undefined;
    return this.node.root.node
      .findAll()
      .find((x): x is IpvsHost => x instanceof IpvsHost && x !== this && x.props.connection.host === c.host && (x.props.connection.port ?? 22) === (c.port ?? 22));
  }

  /** Declares a virtual service on this host. */
  addVirtualService(id: string, props: VirtualServiceProps): VirtualService {
    const svc = new VirtualService(this, id, props);
    this.services.push(svc);
    this.revalidate(() => {
      this.services.pop();
      this.node.tryRemoveChild(id);
    });
    return svc;
  }

  /** The validated desired state; throws IpvsModelError when the declarations are invalid. */
  get desiredState(): DesiredHost {
    return this.planned().host;
  }

  /** The ordered plan. */
  get plan(): HostPlan {
    return this.planned().plan;
  }

  /** The rendered scripts and persistence files. */
  get rendered(): RenderedHost {
    return this.planned().rendered;
  }

  /** The declarations in the shape lib/model reads (also what `cdktf-ipvs render` takes). */
  toSpec(): HostSpec {
    return {
      name: this.props.hostName ?? this.node.id,
      virtualServices: this.services.map((s) => s.toSpec()),
      conntrack: this.props.conntrack,
      localAddresses: this.props.localAddresses,
      sysctls: this.props.sysctls,
    };
  }

  /**
   * Re-checks the whole host after a change; on failure undoes the change and throws, so the
   * error points at the call that caused it and the host stays valid.
   * @internal
   */
  revalidate(undo: () => void): void {
    this.cached = undefined;
    try {
      this.planned();
    } catch (e) {
      undo();
      this.cached = undefined;
      throw e;
    }
  }

  private planned(): { host: DesiredHost; plan: HostPlan; rendered: RenderedHost } {
    if (!this.cached) {
      const host = buildDesiredHost(this.toSpec(), this.pathNamer());
      const plan = planHost(host);
      this.cached = { host, plan, rendered: renderHost(plan) };
    }
    return this.cached;
  }

  private pathNamer(): PathNamer {
    return {
      host: this.node.path,
      service: (i) => this.services[i].node.path,
      realServer: (svc, i) => `${svc}/realServer[${i}]`,
      alias: (svc, i) => `${svc}/alias[${i}]`,
    };
  }

  private provisionersFor(step: StepName): unknown[] {
    const script = (name: "apply.sh" | "verify.sh" | "destroy.sh") =>
      Lazy.stringValue({ produce: () => escapeTerraformTemplate(this.planned().rendered.scripts[name]) });
    // Terraform's id of this very resource: tells a superseded resource's destroy from a real one.
    const commands = stepCommands(step, TerraformSelf.getString("id"));
    const prepare = { type: "remote-exec", inline: [commands.prepare] };
    if (step === "verify") {
      return [
        prepare,
        { type: "file", content: script("verify.sh"), destination: HOST_LAYOUT.verifyScript },
        { type: "remote-exec", inline: [commands.run] },
      ];
    }
    return [
      prepare,
      { type: "file", content: script("apply.sh"), destination: HOST_LAYOUT.applyScript },
      { type: "file", content: script("destroy.sh"), destination: HOST_LAYOUT.destroyScript },
      { type: "remote-exec", inline: [commands.run] },
      { type: "remote-exec", when: "destroy", inline: [commands.undo] },
    ];
  }
}

class HostValidation implements IValidation {
  private annotated = false;
  constructor(private readonly host: IpvsHost) {}
  validate(): string[] {
    let desired: DesiredHost;
    try {
      desired = this.host.desiredState;
    } catch (e) {
      if (e instanceof IpvsModelError) return e.issues.map(formatIssue);
      throw e;
    }
    const findings = checkHost(desired);
    if (!this.annotated) {
      this.annotated = true;
      for (const f of findings.filter((x) => x.level !== "error")) {
        const text = `${f.ruleId} ${f.path}: ${f.detail}. ${f.fix}`;
        if (f.level === "warning") Annotations.of(this.host).addWarning(text);
        else Annotations.of(this.host).addInfo(text);
      }
    }
    return findings.filter((f) => f.level === "error").map(formatFinding);
  }
}

function checkHostProps(path: string, props: IpvsHostProps): ModelIssue[] {
  const issues: { path: string; prop: string; value: unknown; message: string }[] = [];
  const add = (prop: string, value: unknown, problem: string) =>
    issues.push({ path, prop, value, message: `${prop} ${JSON.stringify(value)} ${problem}` });
  if (props.engine !== undefined && !(PROVISIONING_ENGINES as readonly string[]).includes(props.engine)) {
    add("engine", props.engine, `is not a provisioning engine; allowed: ${PROVISIONING_ENGINES.join(", ")}`);
  }
  const c = props.connection;
  if (!c || typeof c.host !== "string" || c.host === "") {
    add("connection.host", c?.host, "is missing; give the address Terraform connects to over SSH");
    return issues;
  }
  if (!Token.isUnresolved(c.host) && !/^[A-Za-z0-9.:_-]{1,253}$/.test(c.host)) {
    add("connection.host", c.host, "is not a host name or address; allowed: letters, digits and . : _ -");
  }
  if (c.port !== undefined && (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535)) {
    add("connection.port", c.port, "is out of range; allowed 1–65535");
  }
  if (c.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(c.user)) {
    add("connection.user", c.user, "is not a user name; allowed: a lowercase POSIX user name such as root");
  }
  if (c.privateKey !== undefined) {
    if (!(c.privateKey instanceof TerraformVariable)) {
      add("connection.privateKey", "<redacted>", "must be a TerraformVariable with sensitive: true; key text must never be written into cdk.tf.json (or use privateKeyPath)");
    } else if (c.privateKey.sensitive !== true) {
      add("connection.privateKey", `var.${c.privateKey.friendlyUniqueId}`, "is a TerraformVariable without sensitive: true; declare it sensitive so Terraform never prints the key");
    }
  }
  if (c.privateKey !== undefined && c.privateKeyPath !== undefined) {
    add("connection.privateKeyPath", c.privateKeyPath, "cannot be combined with privateKey; choose one");
  }
  if (c.privateKeyPath !== undefined && !Token.isUnresolved(c.privateKeyPath) && /BEGIN [A-Z ]*PRIVATE KEY/.test(c.privateKeyPath)) {
    add("connection.privateKeyPath", "<redacted>", "holds key text, not a path; give the path of the key file (or a sensitive TerraformVariable as privateKey)");
  }
  if (c.timeout !== undefined && !/^\d+[smh]$/.test(c.timeout)) {
    add("connection.timeout", c.timeout, "is not a duration; allowed e.g. 30s, 5m, 1h");
  }
  return issues;
}
