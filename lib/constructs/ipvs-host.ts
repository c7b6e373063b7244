/**
 * Thin cdktf wrappers: IpvsHost collects what the user declares, hands it to lib/model,
 * lib/plan and lib/render, and wires the rendered scripts into a fixed chain of provisioning
 * resources (one per plan step, not one per rule).
 */
import { Annotations, Fn, Lazy, TerraformOutput, TerraformResource, TerraformSelf, TerraformStack, Token, assertSameCdk } from "./cdk";
import { Construct, IValidation } from "constructs";
import {
  AliasSpec,
  DesiredHost,
  HostSettings,
  HostSpec,
  IpvsModelError,
  ModelIssue,
  NAME_PATTERN,
  PathNamer,
  PersistenceSpec,
  Protocol,
  RealServerSpec,
  Scheduler,
  SshSpec,
  VirtualServiceSpec,
  NOT_AN_SSH_HOST,
  buildDesiredHost,
  formatIssue,
  parseSshHost,
  printable,
  showValue,
} from "../model";
import { HostPlan, STEP_FORMAT_VERSION, STEP_NAMES, StepName, planHost, planSummaryLines, sha256 } from "../plan";
import { checkHost, formatFinding } from "../policy";
import {
  BECOME_METHODS,
  CONVERGE_STEP,
  CommandOptions,
  ProvisioningStep,
  RenderedHost,
  SCRIPT_NAMES,
  StepReview,
  UPLOAD_STEP,
  bundleDestination,
  renderHost,
  stepCommands,
  convergeCommands,
  undoCommand,
  uploadCommands,
} from "../render";
import { AddVerdict, HostIndex } from "../model/incremental";
import { PROVISIONING_ENGINES, ProvisioningEngine, createStepResource, selfInput, selfTrigger } from "./engine";
import { escapeTerraformLiterals, escapeTerraformTemplate } from "./terraform-text";

/** How Terraform reaches the load balancer over SSH (the provisioners' connection block). */
export interface SshConnectionProps {
  /**
   * Address or name Terraform connects to over SSH: letters, digits and . : _ - (1–253
   * characters), or a Terraform reference. A literal host also tells the model which endpoint no
   * virtual service or alias may take over (the SSH lockout check).
   */
  readonly host: string;
  /**
   * Remote user; the scripts need root (modules, sysctls, IPVS, iptables). A lowercase POSIX user
   * name.
   * @default "root"
   */
  readonly user?: string;
  /**
   * SSH port, 1–65535.
   * @default 22
   */
  readonly port?: number;
  /**
   * Path of a private key file on the machine running Terraform, read with file() at apply and
   * at destroy time. Either a literal path (printable characters, no newline, at most 4096
   * characters; "${" and "%{" in it are kept as text) or a Terraform reference that holds a path
   * (e.g. a TerraformVariable's stringValue). The path, never the key, is kept in the
   * provisioning resources' state, which is how destroy-time provisioners can still connect.
   *
   * There is deliberately no prop for the key text itself: a destroy-time provisioner's
   * connection may only reference `self`, so the key would have to be stored in Terraform state,
   * where `terraform show -json` prints it in clear text. Key text given here is refused.
   * @default none (the SSH agent is used)
   */
  readonly privateKeyPath?: string;
  /**
   * Use the SSH agent.
   * @default true when privateKeyPath is not given, otherwise false
   */
  readonly agent?: boolean;
  /**
   * The host's public key, checked by Terraform: exactly `TYPE BASE64`, i.e. the first two
   * fields of the host's /etc/ssh/ssh_host_*_key.pub without the trailing comment. TYPE is one of
   * ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521,
   * sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com, and the key blob must be of
   * that type. A Terraform reference is passed through unchecked.
   *
   * Give the key the host shows Terraform: its Go SSH client asks for ECDSA first, then RSA, and
   * Ed25519 last, so on a host with the usual three keys (Debian, Ubuntu) that is
   * ssh_host_ecdsa_key.pub; a pinned Ed25519 key there fails with "knownhosts: key mismatch".
   * @default not checked
   */
  readonly hostKey?: string;
  /**
   * How long Terraform waits for SSH: a number followed by s, m or h.
   * @default "5m"
   */
  readonly timeout?: string;
  /**
   * How a user who is not root runs the scripts as root. "sudo": every command goes through
   * `sudo -n sh -c '...'`, so the user must be allowed to run commands as root without a
   * password (e.g. `deploy ALL=(root) NOPASSWD: ALL` in /etc/sudoers.d/deploy); `-n` makes a
   * missing rule fail at once with a clear message instead of waiting for a password. The bundle
   * is uploaded into /var/lib/cdktf-ipvs-upload (made fresh by root for each upload, owned by the
   * user, mode 0700) and moved from there into /var/lib/cdktf-ipvs as root; the scripts there
   * stay root's, 0700/0600, as without become.
   * @default none: the user is root
   */
  readonly become?: "sudo";
  /**
   * A bastion (jump host) Terraform connects through: it opens an SSH connection to the bastion
   * and from there a TCP connection to `host`:`port`, which is then as the bastion sees it (e.g.
   * 127.0.0.1 is the bastion itself). Terraform's bastion_host, bastion_port, bastion_user,
   * bastion_private_key and bastion_host_key.
   * @default none: Terraform connects to host directly
   */
  readonly bastion?: SshBastionProps;
}

/** The bastion (jump host) of an SSH connection; see SshConnectionProps.bastion. */
export interface SshBastionProps {
  /**
   * Address or name of the bastion, as the machine running Terraform reaches it: letters, digits
   * and . : _ - (1–253 characters), or a Terraform reference.
   */
  readonly host: string;
  /**
   * The bastion's SSH port, 1–65535. (Terraform's own default would be the target's port.)
   * @default 22
   */
  readonly port?: number;
  /**
   * User on the bastion; a lowercase POSIX user name.
   * @default the connection's user
   */
  readonly user?: string;
  /**
   * Path of the private key for the bastion, read with file() at apply and destroy time; the
   * same rules as connection.privateKeyPath (a path or a Terraform reference holding one, never
   * key text; only the path is kept in state).
   * @default the connection's privateKeyPath (Terraform uses the target's key for the bastion too)
   */
  readonly privateKeyPath?: string;
  /**
   * The bastion's public key, checked by Terraform: exactly `TYPE BASE64`, as connection.hostKey
   * (the same advice on which of the host's keys applies).
   * @default not checked
   */
  readonly hostKey?: string;
  /**
   * Use the SSH agent. Terraform has one agent setting for both hops, so this is the same switch
   * as connection.agent: giving both with different values is an error.
   * @default connection.agent, else true when connection.privateKeyPath is not given
   */
  readonly agent?: boolean;
}

/** Props of an {@link IpvsHost}: how to reach the machine and the host-wide settings. */
export interface IpvsHostProps extends HostSettings {
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
   * When the host is converged. "on-change": a step runs when what it makes true changed, so a
   * deploy with no change in the stack does not look at the host (drift stays until
   * `cdktf-ipvs drift --fix` or the next change). "every-deploy": also one resource per host,
   * `<host>/_converge`, replaced on every deploy, that runs the whole idempotent apply and then
   * verify, so every `cdktf deploy` heals drift (conntrack=0, a deleted real server, a stray rule
   * in our chain) or fails loudly; a no-op apply costs about one read of the tables. The plan then
   * always shows that one resource being replaced, and nothing else. Recommended for hosts that
   * people or other tools can touch.
   * @default "on-change"
   */
  readonly converge?: ConvergeMode;
}

/** When a host is converged (IpvsHostProps.converge): "on-change" or "every-deploy". */
export const CONVERGE_MODES = ["on-change", "every-deploy"] as const;
/** A converge mode, one of {@link CONVERGE_MODES}. */
export type ConvergeMode = (typeof CONVERGE_MODES)[number];

/** Props of a virtual service (IpvsHost.addVirtualService); the id is its name. See VirtualServiceSpec. */
export interface VirtualServiceProps {
  /**
   * Transport protocol.
   * @default "tcp"
   */
  readonly protocol?: Protocol;
  /**
   * Virtual address (IPv4 or IPv6); give address+port or fwmark.
   * @default none (then fwmark is required)
   */
  readonly address?: string;
  /**
   * Virtual port, 1–65535; required with address.
   * @default none
   */
  readonly port?: number;
  /**
   * Firewall mark, 1–4294967295, instead of address+port.
   * @default none (then address and port are required)
   */
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
  readonly schedulerFlags?: readonly string[];
  /**
   * Client persistence.
   * @default none
   */
  readonly persistence?: PersistenceSpec;
  /**
   * How long a deploy that removes one of this service's TCP/SCTP real servers (or the service)
   * lets it drain: weight 0 first, deleted when its active connections have ended or after this
   * many seconds. 0 deletes at once. UDP real servers are always deleted at once. 0–86400.
   * @default the host's drainTimeoutSeconds (60)
   */
  readonly drainTimeoutSeconds?: number;
  /**
   * Take the service over when it already exists on the host but was not created by cdktf-ipvs
   * (see VirtualServiceSpec.adopt; `cdktf-ipvs import` sets it).
   * @default false
   */
  readonly adopt?: boolean;
}

/** Props of a real server; see RealServerSpec for each field. */
export type RealServerProps = RealServerSpec;
/** Props of an alias; see AliasSpec for each field. */
export type AliasProps = AliasSpec;

/** A virtual service on an IpvsHost. Create it with IpvsHost.addVirtualService. */
export class VirtualService extends Construct {
  private readonly servers: RealServerSpec[] = [];
  private readonly aliasList: AliasSpec[] = [];

  /** @internal */
  constructor(
    private readonly host: IpvsHost,
    id: string,
    private readonly props: VirtualServiceProps,
  ) {
    super(host, id);
  }

  /** The real servers declared so far, in order, as given to addRealServer (copies). */
  get realServers(): readonly Readonly<RealServerProps>[] {
    return this.servers.map((rs) => ({ ...rs }));
  }

  /** The aliases declared so far, in order, as given to addAlias (copies). */
  get aliases(): readonly Readonly<AliasProps>[] {
    return this.aliasList.map((alias) => ({ ...alias }));
  }

  /** Adds a real server; bad values or conflicts throw an IpvsModelError right here. */
  addRealServer(props: RealServerProps): this {
    const rs = { ...props };
    const path = this.host.realServerPath(this, this.servers.length);
    this.host.addChecked(
      () => this.servers.push(rs),
      () => this.servers.pop(),
      (index) => index.checkRealServer(this.node.id, rs, path),
    );
    return this;
  }

  /**
   * Adds a port that reaches this service through iptables nat (REDIRECT or DNAT). Makes
   * net.ipv4.vs.conntrack=1 part of the host's desired state.
   */
  addAlias(props: AliasProps): this {
    const alias = { ...props };
    const path = this.host.aliasPath(this, this.aliasList.length);
    this.host.addChecked(
      () => this.aliasList.push(alias),
      () => this.aliasList.pop(),
      (index) => index.checkAlias(this.node.id, alias, path),
    );
    return this;
  }

  /** @internal */
  toSpec(): VirtualServiceSpec {
    return { ...this.props, name: this.node.id, realServers: [...this.servers], aliases: [...this.aliasList] };
  }
}

/**
 * One Linux IPVS load balancer, provisioned over SSH in order: modules → sysctls → IPVS →
 * aliases → boot-time restore → verify; destroyed in reverse.
 */
export class IpvsHost extends Construct {
  /**
   * The provisioning resources, one per step, each depending on the one before (and on upload).
   * Each step's triggers carry what it makes true (see lib/render/review.ts) and the id of the
   * step before, so a change re-runs that step and those after it, never the ones before.
   */
  readonly steps: Readonly<Record<StepName, TerraformResource>>;
  /**
   * The resource that uploads the host's apply.sh, verify.sh and destroy.sh, once per host. Every
   * step depends on it; each checks the uploaded script's sha256 before running it.
   */
  readonly upload: TerraformResource;
  /** With `converge: "every-deploy"`: the resource that converges and verifies the host on every deploy. */
  readonly converge?: TerraformResource;
  /**
   * Output `<id>_ipvs_summary`: the plan summary as a list of lines (`terraform output -json`),
   * so a pipeline can post it to the review; Terraform shows only the lines that change.
   */
  readonly summaryOutput: TerraformOutput;
  /** Output `<id>_ipvs_manifest_sha256`: sha256 of the host's manifest (RenderedHost.manifestHash). */
  readonly manifestHashOutput: TerraformOutput;
  /** Resource type of the steps: IpvsHostProps.engine, "null_resource" when not given. */
  readonly engine: ProvisioningEngine;
  private readonly services: VirtualService[] = [];
  private cached?: { spec: HostSpec; host: DesiredHost; plan: HostPlan; readonly rendered: RenderedHost };

  /** The virtual services declared so far, in order (a copy of the list). */
  get virtualServices(): readonly VirtualService[] {
    return [...this.services];
  }

  constructor(scope: Construct, id: string, private readonly props: IpvsHostProps) {
    assertSameCdk(scope, `${scope.node.path}/${id}`);
    super(scope, checkedHostId(scope, id));
    this.engine = props?.engine ?? "null_resource";
    const problems = checkHostProps(this.node.path, props);
    const twin = problems.length ? undefined : this.sameMachine();
    if (twin) problems.push(sameMachineIssue(this.node.path, props.connection, twin));
    if (problems.length) throw new IpvsModelError(problems);
    this.revalidate(() => undefined);

    const conn = props.connection;
    // Every string below reaches cdk.tf.json, where Terraform reads it as a template: literal text
    // is escaped (host, user, port and timeout are pattern-checked anyway), references stay
    // references.
    const triggersBase: Record<string, string> = {
      host: escapeTerraformLiterals(conn.host),
      port: String(conn.port ?? 22),
      user: conn.user ?? "root",
    };
    // Only the key's path is kept (in state); see SshConnectionProps.privateKeyPath for why the
    // key text itself is never accepted.
    const inputs: Record<string, string> = {};
    if (conn.privateKeyPath !== undefined) inputs.private_key_path = escapeTerraformLiterals(conn.privateKeyPath);
    // A destroy-time provisioner's connection may only reference self: a host key held in a
    // Terraform reference goes through the resource, a literal one stays in the connection.
    if (conn.hostKey !== undefined && Token.isUnresolved(conn.hostKey)) inputs.host_key = escapeTerraformLiterals(conn.hostKey);

    const connection: Record<string, unknown> = {
      type: "ssh",
      host: selfTrigger(this.engine, "host"),
      port: selfTrigger(this.engine, "port"),
      user: selfTrigger(this.engine, "user"),
      timeout: conn.timeout ?? "5m",
    };
    if (conn.privateKeyPath !== undefined) connection.privateKey = Fn.file(selfInput(this.engine, "private_key_path"));
    // Terraform has one agent switch for both hops (target and bastion).
    const agent = conn.agent ?? conn.bastion?.agent ?? conn.privateKeyPath === undefined;
    connection.agent = agent ? "true" : "false";
    if (conn.hostKey !== undefined) {
      connection.hostKey = Token.isUnresolved(conn.hostKey) ? selfInput(this.engine, "host_key") : escapeTerraformTemplate(conn.hostKey);
    }
    const bastion = conn.bastion;
    if (bastion !== undefined) {
      // As above: references go through the resource (destroy-time provisioners may only read
      // self), literals stay in the connection, the key only as a path read with file().
      const literalOrInput = (value: string, key: string) => {
        if (!Token.isUnresolved(value)) return escapeTerraformTemplate(value);
        inputs[key] = escapeTerraformLiterals(value);
        return selfInput(this.engine, key);
      };
      connection.bastionHost = literalOrInput(bastion.host, "bastion_host");
      // Explicit: Terraform's default for the bastion's port is the target's port.
      connection.bastionPort = bastion.port ?? 22;
      connection.bastionUser = bastion.user ?? conn.user ?? "root";
      if (bastion.privateKeyPath !== undefined) {
        inputs.bastion_private_key_path = escapeTerraformLiterals(bastion.privateKeyPath);
        connection.bastionPrivateKey = Fn.file(selfInput(this.engine, "bastion_private_key_path"));
      }
      if (bastion.hostKey !== undefined) connection.bastionHostKey = literalOrInput(bastion.hostKey, "bastion_host_key");
    }
    const commandOptions: CommandOptions = conn.become !== undefined ? { become: conn.become } : {};

    const planned = () => this.planned();
    const base = (step: ProvisioningStep): Record<string, string> => ({ ...triggersBase, step, format: String(STEP_FORMAT_VERSION) });
    // One copy of each script per host: the upload step uploads them, the plan steps run them.
    this.upload = createStepResource(this, UPLOAD_RESOURCE_ID, this.engine, {
      triggers: () => ({ ...base(UPLOAD_STEP), ...reviewTriggers(planned().rendered.review.steps.upload) }),
      inputs,
      connection,
      dependsOn: [],
      provisioners: this.uploadProvisioners(commandOptions),
    });

    const steps: Partial<Record<StepName, TerraformResource>> = {};
    let upstream: TerraformResource | undefined;
    for (const step of STEP_NAMES) {
      // What the step makes true, entry by entry: the plan shows exactly the entries and lines that
      // change. The upstream step's id replaces this step whenever the one before is replaced.
      // The upload step's id is not a trigger (every change would re-run every step); the steps
      // only depend on it for order, and check the uploaded script's hash before running it. Only
      // verify, the last step, re-runs on any upload: a new verify.sh checks the host again.
      const upstreamId = upstream?.getStringAttribute("id");
      const uploadId = step === "verify" ? this.upload.getStringAttribute("id") : undefined;
      const resource = createStepResource(this, step, this.engine, {
        triggers: () => ({
          ...base(step),
          ...(upstreamId !== undefined ? { upstream: upstreamId } : {}),
          ...(uploadId !== undefined ? { upload: uploadId } : {}),
          ...reviewTriggers(planned().rendered.review.steps[step]),
        }),
        inputs,
        connection,
        dependsOn: upstream ? [upstream, this.upload] : [this.upload],
        provisioners: this.provisionersFor(step, commandOptions),
      });
      steps[step] = resource;
      upstream = resource;
    }
    this.steps = steps as Record<StepName, TerraformResource>;

    if ((props.converge ?? "on-change") === "every-deploy") {
      // timestamp() is only known at apply time, so Terraform replaces this one resource on every
      // deploy: its provisioner runs the whole apply and then verify on the live host.
      this.converge = createStepResource(this, CONVERGE_RESOURCE_ID, this.engine, {
        triggers: () => ({ ...base(CONVERGE_STEP), at: Fn.timestamp() }),
        inputs,
        connection,
        dependsOn: [upstream!, this.upload],
        provisioners: [
          {
            type: "remote-exec",
            inline: [Lazy.stringValue({ produce: () => escapeTerraformLiterals(convergeCommands(this.scriptHash("apply.sh"), this.scriptHash("verify.sh"), commandOptions).run) })],
          },
        ],
      });
    }

    // For the review: a pipeline posts these next to the plan (terraform output -json).
    const outputId = (name: string) => `${this.node.id.replace(/[^A-Za-z0-9_]/g, "_")}_ipvs_${name}`;
    this.summaryOutput = new TerraformOutput(this, "summary", {
      description: escapeTerraformTemplate(`cdktf-ipvs: what the plan of host ${this.hostName} holds, one line per entry`),
      value: Lazy.listValue({ produce: () => planSummaryLines(planned().plan, { hashes: false }).map(escapeTerraformTemplate) }),
    });
    this.manifestHashOutput = new TerraformOutput(this, "manifest_sha256", {
      description: escapeTerraformTemplate(`cdktf-ipvs: sha256 of the manifest of host ${this.hostName} (in the form cdktf-ipvs render writes as manifest.json)`),
      value: Lazy.stringValue({ produce: () => planned().rendered.manifestHash }),
    });
    // Readable names (lb1_ipvs_summary) unless another host in this stack has the same id.
    const stack = TerraformStack.of(this);
    const clash = stack.node.findAll().some((c) => c instanceof IpvsHost && c !== this && c.summaryOutput !== undefined && TerraformStack.of(c) === stack && c.summaryOutput.friendlyUniqueId === outputId("summary"));
    if (!clash) {
      this.summaryOutput.overrideLogicalId(outputId("summary"));
      this.manifestHashOutput.overrideLogicalId(outputId("manifest_sha256"));
    }

    this.node.addValidation(new HostValidation(this));
  }

  /**
   * An IpvsHost declared by a host entry of a spec.json (the CLI's format): keep the load
   * balancer's services in JSON and still deploy them with cdktf. Host-level settings in the spec
   * (conntrack, expireNodestConn, expireQuiescentTemplate, drainTimeoutSeconds, localAddresses, sysctls, unsafeSysctls)
   * apply unless props set them.
   *
   * The whole entry is validated by lib/model first, exactly as the CLI validates it (unknown
   * keys, bad names, every semantic check), and every problem is thrown at once as an
   * IpvsModelError before any construct is created. Paths in the messages are the host's
   * construct path followed by the place in the spec, e.g.
   * `stack/lb1.virtualServices[0].realServers[1]`.
   */
  static fromSpec(scope: Construct, id: string, spec: HostSpec, props: IpvsHostProps): IpvsHost {
    const hostPath = [scope.node.path, id.replace(/\//g, "--")].filter((x) => x !== "").join("/");
    const fromSpecEntry = hostSettingsOf(spec);
    const merged: IpvsHostProps = {
      ...props,
      hostName: props?.hostName ?? spec?.name,
      ...Object.fromEntries(HOST_SETTING_KEYS.map((k) => [k, props?.[k] ?? fromSpecEntry[k]])),
    };
    const issues: ModelIssue[] = checkHostProps(hostPath, props);
    if (issues.length === 0) {
      const twin = findSameMachine(scope, props.connection);
      if (twin) issues.push(sameMachineIssue(hostPath, props.connection, twin));
    }
    const fromConnection = issues.length === 0 ? sshSpecOf(props.connection).ssh : undefined;
    const specSsh = spec?.ssh;
    if (fromConnection && specSsh !== undefined && (specSsh?.host !== fromConnection.host || (specSsh?.port ?? 22) !== fromConnection.port)) {
      issues.push({
        path: hostPath,
        prop: "ssh",
        value: specSsh,
        message: `ssh ${showValue(specSsh)} contradicts connection ${fromConnection.host} port ${fromConnection.port}, which is where Terraform connects; make them agree or leave ssh out of the spec`,
      });
    }
    const effective: HostSpec = {
      ...spec,
      name: merged.hostName as string,
      ...hostSettingsOf(merged),
      // A bad connection is reported once, as connection.*, not again as ssh.*.
      ...(fromConnection ? { ssh: fromConnection } : {}),
    };
    try {
      buildDesiredHost(effective, {
        host: hostPath,
        service: (i) => `${hostPath}.virtualServices[${i}]`,
        realServer: (svc, i) => `${svc}.realServers[${i}]`,
        alias: (svc, i) => `${svc}.aliases[${i}]`,
      });
    } catch (e) {
      if (!(e instanceof IpvsModelError)) throw e;
      issues.push(...e.issues);
    }
    // Names the model accepts but cdktf cannot use as the service's construct id.
    (Array.isArray(spec?.virtualServices) ? spec.virtualServices : []).forEach((svc, i) => {
      const name = (svc as { name?: unknown } | null)?.name;
      if (typeof name === "string" && (STEP_NAMES as readonly string[]).includes(name)) {
        issues.push(reservedIdIssue(`${hostPath}.virtualServices[${i}]`, "name", name));
      }
    });
    if (issues.length) throw new IpvsModelError(issues);

    const host = new IpvsHost(scope, id, merged);
    // Validated as a whole above: check once at the end, not after every add (a spec with 1000
    // services would otherwise be checked 6000 times).
    host.batching = true;
    try {
      for (const { name, realServers = [], aliases = [], ...svcProps } of spec.virtualServices ?? []) {
        const svc = host.addVirtualService(name, { ...svcProps, schedulerFlags: svcProps.schedulerFlags ? [...svcProps.schedulerFlags] : undefined });
        for (const rs of realServers) svc.addRealServer(rs);
        for (const alias of aliases) svc.addAlias(alias);
      }
    } finally {
      host.batching = false;
    }
    host.revalidate(() => undefined);
    return host;
  }

  /** @internal */
  get connectionProps(): SshConnectionProps {
    return this.props.connection;
  }

  /** Another IpvsHost in the app that connects to the same machine, if any. */
  private sameMachine(): IpvsHost | undefined {
    return findSameMachine(this, this.props.connection, this);
  }

  /**
   * Declares a virtual service on this host. The id is the service's name on the host (in logs
   * and iptables comments), so it must be a valid service name: 1–40 characters of
   * A–Z a–z 0–9 _ . -, starting with a letter or digit, unique on the host, and not the id of one
   * of the host's provisioning steps (modules, sysctls, ipvs, aliases, boot, verify).
   */
  addVirtualService(id: string, props: VirtualServiceProps): VirtualService {
    const issues = checkServiceId(this, id, props);
    if (issues.length) throw new IpvsModelError(issues);
    const svc = new VirtualService(this, id, props);
    this.addChecked(
      () => this.services.push(svc),
      () => {
        this.services.pop();
        this.node.tryRemoveChild(id);
      },
      (index) => index.checkService(svc.toSpec(), svc.node.path),
    );
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

  /**
   * The declarations in the shape lib/model reads (also what `cdktf-ipvs render` takes). A
   * literal connection.host is included as `ssh`, so the model refuses services and aliases that
   * would take over the SSH endpoint Terraform provisions through.
   */
  toSpec(): HostSpec {
    const spec: HostSpec = {
      name: this.props.hostName ?? this.node.id,
      virtualServices: this.services.map((s) => s.toSpec()),
      ...hostSettingsOf(this.props),
      ...sshSpecOf(this.props.connection),
    };
    return spec;
  }

  /**
   * Adds one declaration to a valid host without building the whole host again: `check` asks the
   * host's indexes (lib/model/incremental.ts) what the new object can break, in time that does not
   * grow with the host. When it cannot vouch for the object, the whole host is built (revalidate):
   * that full build decides, and its IpvsModelError, thrown here after `undo`, is word for word
   * what checking the whole host has always said. The plan and the scripts are made once, when
   * first needed (synth, or the desiredState, plan and rendered getters).
   * @internal
   */
  addChecked(add: () => void, undo: () => void, check: (index: HostIndex) => AddVerdict): void {
    this.cached = undefined;
    add();
    // fromSpec validated the whole entry before adding it: it checks once, after the last add
    // (revalidate), which also indexes the host afresh.
    if (this.batching) {
      this.index = undefined;
      return;
    }
    let verdict: AddVerdict | undefined;
    try {
      verdict = this.index ? check(this.index) : undefined;
    } catch (e) {
      undo();
      throw e;
    }
    if (verdict?.ok) verdict.commit();
    else this.revalidate(undo);
  }

  /**
   * Re-checks the whole host after a change; on failure undoes the change and throws, so the
   * error points at the call that caused it and the host stays valid. On success the indexes
   * that addChecked uses are made afresh from the built host.
   * @internal
   */
  revalidate(undo: () => void): void {
    const before = this.index;
    this.cached = undefined;
    this.index = undefined;
    // fromSpec validated the whole entry before adding it: it checks once, after the last add.
    if (this.batching) return;
    let planned: ReturnType<IpvsHost["planned"]>;
    try {
      planned = this.planned();
    } catch (e) {
      undo();
      this.cached = undefined;
      // The change is undone, so the host is as it was, and so are its indexes: a check never
      // records the object it refuses.
      this.index = before;
      throw e;
    }
    this.index = HostIndex.of(planned.spec, planned.host);
  }

  /** True while fromSpec adds an entry it has already validated as a whole. */
  private batching = false;
  /** The indexes addChecked asks; undefined until the host was last built as a whole. */
  private index?: HostIndex;

  /** @internal Path of real server `i` of `svc` in messages (as the full build names it). */
  realServerPath(svc: VirtualService, i: number): string {
    return this.pathNamer().realServer(svc.node.path, i);
  }

  /** @internal Path of alias `i` of `svc` in messages (as the full build names it). */
  aliasPath(svc: VirtualService, i: number): string {
    return this.pathNamer().alias(svc.node.path, i);
  }

  private planned(): { spec: HostSpec; host: DesiredHost; plan: HostPlan; readonly rendered: RenderedHost } {
    if (!this.cached) {
      const spec = this.toSpec();
      const host = buildDesiredHost(spec, this.pathNamer());
      const plan = planHost(host);
      // Rendered on first use (synth): a valid host always renders, and rendering after every
      // declaration would make a large host slow to declare.
      let rendered: RenderedHost | undefined;
      this.cached = {
        spec,
        host,
        plan,
        get rendered() {
          return (rendered ??= renderHost(plan));
        },
      };
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

  /** The host name the scripts use (hostName, else the construct id). */
  private get hostName(): string {
    return this.props.hostName ?? this.node.id;
  }

  private scriptHash(name: (typeof SCRIPT_NAMES)[number]): string {
    return sha256(this.planned().rendered.scripts[name]);
  }

  /** mkdir, the scripts' bundle (one file provisioner), then unpack it and check every script's hash. */
  private uploadProvisioners(options: CommandOptions): unknown[] {
    const hashes = () => Object.fromEntries(SCRIPT_NAMES.map((n) => [n, this.scriptHash(n)])) as Record<(typeof SCRIPT_NAMES)[number], string>;
    return [
      { type: "remote-exec", inline: [Lazy.stringValue({ produce: () => escapeTerraformTemplate(uploadCommands(hashes(), options).prepare) })] },
      { type: "file", content: Lazy.stringValue({ produce: () => this.planned().rendered.bundle }), destination: bundleDestination(options) },
      { type: "remote-exec", inline: [Lazy.stringValue({ produce: () => escapeTerraformTemplate(uploadCommands(hashes(), options).run) })] },
    ];
  }

  /** Runs the uploaded script for this step (after checking its hash); undoes the step on destroy. */
  private provisionersFor(step: StepName, options: CommandOptions): unknown[] {
    // Terraform's id of this very resource: tells a superseded resource's destroy from a real one.
    const generation = TerraformSelf.getString("id");
    const commands = () => stepCommands(step, generation, this.scriptHash(step === "verify" ? "verify.sh" : "apply.sh"), options);
    const run = { type: "remote-exec", inline: [Lazy.stringValue({ produce: () => escapeTerraformLiterals(commands().run) })] };
    if (step === "verify") return [run];
    return [run, { type: "remote-exec", when: "destroy", inline: [escapeTerraformLiterals(undoCommand(step, generation, options))] }];
  }
}

/** Construct id of the upload resource: a service name never starts with "_", so no service id can take it. */
const UPLOAD_RESOURCE_ID = "_upload";
/** Construct id of the converge resource (every-deploy), for the same reason. */
const CONVERGE_RESOURCE_ID = "_converge";

/** A step's review entries as triggers: each key and value is literal text to Terraform. */
function reviewTriggers(review: StepReview): Record<string, string> {
  return Object.fromEntries(Object.entries(review).map(([k, v]) => [escapeTerraformTemplate(k), escapeTerraformTemplate(v)]));
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
        // cdktf prints the host's path in front of the annotation: name only what lies below it.
        const hostPath = this.host.node.path;
        const below = f.path === hostPath ? "" : f.path.startsWith(`${hostPath}/`) ? ` at ${f.path.slice(hostPath.length + 1)}` : ` at ${f.path}`;
        const text = `${f.ruleId}${below}: ${f.detail}. ${f.fix}`;
        if (f.level === "warning") Annotations.of(this.host).addWarning(text);
        else Annotations.of(this.host).addInfo(text);
      }
    }
    return findings.filter((f) => f.level === "error").map(formatFinding);
  }
}

/** The SSH endpoint for the model's lockout check; none when the host is a Terraform reference. */
function sshSpecOf(c: SshConnectionProps | undefined): { ssh?: SshSpec } {
  if (!c || typeof c.host !== "string" || c.host === "" || Token.isUnresolved(c.host)) return {};
  return { ssh: { host: c.host, port: c.port ?? 22 } };
}

/** Another IpvsHost in the app that connects to the same machine (literal host and port), if any. */
function findSameMachine(scope: Construct, c: SshConnectionProps | undefined, except?: IpvsHost): IpvsHost | undefined {
  if (!c || typeof c.host !== "string" || Token.isUnresolved(c.host)) return undefined;
  return scope.node.root.node
    .findAll()
    .find(
      (x): x is IpvsHost =>
        x instanceof IpvsHost && x !== except && x.connectionProps.host === c.host && (x.connectionProps.port ?? 22) === (c.port ?? 22) && bastionOf(x.connectionProps) === bastionOf(c),
    );
}

/** The bastion a connection goes through, as "host:port"; "" when it connects directly. Behind different bastions, one address may be different machines. */
function bastionOf(c: SshConnectionProps): string {
  const b = c.bastion;
  return b && typeof b.host === "string" ? `${b.host}:${b.port ?? 22}` : "";
}

function sameMachineIssue(path: string, c: SshConnectionProps, twin: IpvsHost): ModelIssue {
  return {
    path,
    prop: "connection.host",
    value: c.host,
    message: `connection.host "${c.host}" port ${c.port ?? 22}${bastionOf(c) ? ` through bastion ${bastionOf(c)}` : ""} is already managed by ${twin.node.path}; declare one IpvsHost per machine (both would own the same chains, files and IPVS services)`,
  };
}

function reservedIdIssue(path: string, prop: string, name: string): ModelIssue {
  return {
    path,
    prop,
    value: name,
    message: `${prop} "${name}" is the construct id of the host's ${name} provisioning step; cdktf needs unique ids on a host, so rename the service (reserved: ${STEP_NAMES.join(", ")})`,
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Terraform resource names start with a letter; ours are built from this id. */
const HOST_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

/**
 * Checked before the construct exists: constructs keeps children in a plain object (so an id
 * like "__proto__" breaks it) and turns "/" into "--", and Terraform refuses resource names
 * that do not start with a letter.
 */
function checkedHostId(scope: Construct, id: string): string {
  if (typeof id !== "string" || !HOST_ID_PATTERN.test(id) || id in Object.prototype) {
    throw new IpvsModelError([
      { path: scope?.node?.path ?? "", prop: "id", value: id, message: `IpvsHost id ${showValue(id)} is not allowed; allowed: 1–63 characters of A–Z a–z 0–9 _ . -, starting with a letter (Terraform resource names are made from it), and not a name Object.prototype has (constructor, toString, ...)` },
    ]);
  }
  return id;
}

const SERVICE_PROP_KEYS = ["protocol", "address", "port", "fwmark", "family", "scheduler", "schedulerFlags", "persistence", "drainTimeoutSeconds", "adopt"];

/** The checks a service id needs before it becomes a construct (constructs would rename "a/b"). */
function checkServiceId(host: IpvsHost, id: string, props: VirtualServiceProps): ModelIssue[] {
  const path = host.node.path;
  const issues: ModelIssue[] = [];
  if (typeof id !== "string" || id.length < 1 || id.length > 40 || !NAME_PATTERN.test(id)) {
    issues.push({
      path,
      prop: "id",
      value: id,
      message: `virtual service id ${showValue(id)} is not a valid service name (the id is the service's name on the host); allowed: 1–40 characters of A–Z a–z 0–9 _ . -, starting with a letter or digit`,
    });
    return issues;
  }
  const existing = host.node.tryFindChild(id);
  if (existing instanceof VirtualService) {
    issues.push({ path, prop: "id", value: id, message: `virtual service id "${id}" is already used by ${existing.node.path}; service names must be unique on a host` });
  } else if (existing) {
    issues.push(reservedIdIssue(path, "id", id));
  }
  if (typeof props !== "object" || props === null) {
    issues.push({ path: `${path}/${id}`, prop: "props", value: props, message: `props ${showValue(props)} is not an object of virtual service props` });
    return issues;
  }
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined && !SERVICE_PROP_KEYS.includes(key)) {
      const hint = key === "name" ? " (the id is the name)" : key === "realServers" || key === "aliases" ? ` (use ${key === "aliases" ? "addAlias" : "addRealServer"})` : "";
      issues.push({ path: `${path}/${id}`, prop: key, value, message: `${key} ${showValue(value)} is not a known prop${hint}; allowed: ${SERVICE_PROP_KEYS.join(", ")}` });
    }
  }
  return issues;
}

/** The host-level settings IpvsHostProps and a spec's host entry share, under the same names. */
const HOST_SETTING_KEYS = ["conntrack", "expireNodestConn", "expireQuiescentTemplate", "drainTimeoutSeconds", "localAddresses", "sysctls", "unsafeSysctls"] as const;
// Every key of HostSettings is listed: a setting added there without its key here fails to compile.
const ALL_SETTINGS_LISTED: [Exclude<keyof HostSettings, (typeof HOST_SETTING_KEYS)[number]>] extends [never] ? true : never = true;
void ALL_SETTINGS_LISTED;

/**
 * The shared settings of SOURCE (props or a spec entry), every key present. Arrays and objects
 * are copied only when well-formed; anything else goes to the model as it is, to be reported.
 */
function hostSettingsOf(source: HostSettings | undefined): HostSettings {
  const copy = (k: (typeof HOST_SETTING_KEYS)[number]) => {
    const v = source?.[k];
    return Array.isArray(v) ? [...v] : isPlainObject(v) ? { ...v } : v;
  };
  return Object.fromEntries(HOST_SETTING_KEYS.map((k) => [k, copy(k)])) as HostSettings;
}

const HOST_PROP_KEYS: readonly string[] = ["connection", "engine", "hostName", ...HOST_SETTING_KEYS, "converge"];
const CONNECTION_KEYS = ["host", "user", "port", "privateKeyPath", "agent", "hostKey", "timeout", "become", "bastion"];

const HOST_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];
const MAX_KEY_PATH = 4096;
/** Text that is a private key (or part of one), not the path of a key file. */
const KEY_TEXT = [
  /BEGIN [A-Z0-9 ]*PRIVATE KEY/,
  /PuTTY-User-Key-File/,
  /BEGIN SSH2 ENCRYPTED PRIVATE KEY/,
  /---- BEGIN SSH2/,
  /b3BlbnNzaC1rZXktdjE/, // base64 of "openssh-key-v1": a body line of an OpenSSH private key
];
const REDACTED = "<redacted>";
const USE_INSTEAD = "give privateKeyPath (the path of the key file, read with file() at apply and destroy time; it may be a Terraform reference holding a path) or agent: true";

/** Why a literal hostKey is not `TYPE BASE64` with a blob of that type, or undefined when it is. */
function hostKeyProblem(hostKey: string): string | undefined {
  const m = /^([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})$/.exec(hostKey);
  const allowed = `allowed: exactly "TYPE BASE64" (the first two fields of the host's ssh_host_*_key.pub, without the comment), TYPE one of ${HOST_KEY_TYPES.join(", ")}`;
  if (!m) return `is not a host public key; ${allowed}`;
  if (!HOST_KEY_TYPES.includes(m[1])) return `has key type "${m[1]}", which is not supported; ${allowed}`;
  if (m[2].length % 4 !== 0) return `has a key blob that is not valid base64; ${allowed}`;
  const blob = Buffer.from(m[2], "base64");
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const embedded = len >= 0 && 4 + len <= blob.length ? blob.subarray(4, 4 + len).toString("latin1") : undefined;
  if (embedded !== m[1]) return `has a key blob that is not a ${m[1]} key; ${allowed}`;
  return undefined;
}

function checkHostProps(path: string, props: IpvsHostProps): ModelIssue[] {
  const issues: ModelIssue[] = [];
  const add = (prop: string, value: unknown, problem: string) => issues.push({ path, prop, value, message: `${prop} ${showValue(value)} ${problem}` });
  const redacted = (prop: string, problem: string) => issues.push({ path, prop, value: REDACTED, message: `${prop} ${REDACTED} ${problem}` });
  if (typeof props !== "object" || props === null) {
    add("props", props, "is not an object; expected { connection: { host: ... } }");
    return issues;
  }
  // Unknown props would be ignored silently; their values are not shown (one might be a key).
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined && !HOST_PROP_KEYS.includes(key)) redacted(key, `is not a known prop; allowed: ${HOST_PROP_KEYS.join(", ")}`);
  }
  if (props.engine !== undefined && !(PROVISIONING_ENGINES as readonly string[]).includes(props.engine)) {
    add("engine", props.engine, `is not a provisioning engine; allowed: ${PROVISIONING_ENGINES.join(", ")}`);
  }
  if (props.unsafeSysctls !== undefined && typeof props.unsafeSysctls !== "boolean") add("unsafeSysctls", props.unsafeSysctls, "is not a boolean");
  if (props.converge !== undefined && !(CONVERGE_MODES as readonly unknown[]).includes(props.converge)) add("converge", props.converge, `is not a converge mode; allowed: ${CONVERGE_MODES.join(", ")}`);
  const c = props.connection;
  if (typeof c !== "object" || c === null || typeof c.host !== "string" || c.host === "") {
    add("connection.host", (c as SshConnectionProps | undefined)?.host, "is missing; give the address Terraform connects to over SSH");
    return issues;
  }
  for (const [key, value] of Object.entries(c)) {
    if (value === undefined || CONNECTION_KEYS.includes(key)) continue;
    if (key === "privateKey") {
      redacted(
        "connection.privateKey",
        `is not supported: the key would be stored in Terraform state, where \`terraform show -json\` prints it in clear text (destroy-time provisioners can only reach the connection through self, so a key in a variable cannot stay out of state); ${USE_INSTEAD}`,
      );
    } else {
      redacted(`connection.${key}`, `is not a known connection prop; allowed: ${CONNECTION_KEYS.join(", ")}`);
    }
  }
  // The model's own check of an SSH host, so a bad host is reported here, once, as connection.host.
  if (!Token.isUnresolved(c.host) && !parseSshHost(c.host)) add("connection.host", c.host, NOT_AN_SSH_HOST);
  if (c.port !== undefined && (typeof c.port !== "number" || !Number.isInteger(c.port) || c.port < 1 || c.port > 65535)) {
    add("connection.port", c.port, "is out of range; allowed 1–65535");
  }
  if (c.user !== undefined && (typeof c.user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(c.user))) {
    add("connection.user", c.user, "is not a user name; allowed: a lowercase POSIX user name such as root");
  }
  if (c.agent !== undefined && typeof c.agent !== "boolean") add("connection.agent", c.agent, "is not a boolean");
  checkKeyPath("connection.privateKeyPath", c.privateKeyPath, add, redacted);
  checkHostKey("connection.hostKey", c.hostKey, add);
  if (c.timeout !== undefined && (typeof c.timeout !== "string" || !/^\d{1,6}[smh]$/.test(c.timeout))) {
    add("connection.timeout", c.timeout, "is not a duration; allowed e.g. 30s, 5m, 1h");
  }
  if (c.become !== undefined && !(BECOME_METHODS as readonly unknown[]).includes(c.become)) {
    add("connection.become", c.become, `is not a way to become root; allowed: ${BECOME_METHODS.join(", ")} (leave it out when connection.user is root)`);
  }
  if (c.bastion !== undefined) checkBastion(c, add, redacted);
  return issues;
}

type AddIssue = (prop: string, value: unknown, problem: string) => void;
type AddRedacted = (prop: string, problem: string) => void;

/** A private key path (connection's or bastion's): a path of printable characters, never key text. */
function checkKeyPath(prop: string, keyPath: unknown, add: AddIssue, redacted: AddRedacted): void {
  if (keyPath === undefined) return;
  // Checked whole, tokens included: a token's marker is printable and never looks like a key.
  if (typeof keyPath !== "string" || keyPath === "") {
    add(prop, typeof keyPath === "string" ? keyPath : REDACTED, "is not a path; give the path of the private key file");
  } else if (KEY_TEXT.some((re) => re.test(keyPath)) || /[\r\n]/.test(keyPath)) {
    redacted(prop, `holds key text, not a path; key text must never reach cdk.tf.json or Terraform state: ${useInstead(prop)}`);
  } else if (printable(keyPath, Infinity) !== keyPath) {
    // Control and bidi characters, line separators, lone surrogates (Terraform reads those as U+FFFD).
    redacted(prop, "contains control characters or unpaired surrogates; allowed: a path of printable characters");
  } else if (keyPath.length > MAX_KEY_PATH) {
    redacted(prop, `is ${keyPath.length} characters long; allowed: a path of at most ${MAX_KEY_PATH} characters`);
  }
}

/** USE_INSTEAD, naming the bastion's props for a bastion prop. */
function useInstead(prop: string): string {
  return prop.startsWith("connection.bastion.") ? USE_INSTEAD.replace("give privateKeyPath", "give bastion.privateKeyPath") : USE_INSTEAD;
}

/** A host public key (connection's or bastion's): `TYPE BASE64`, or a Terraform reference. */
function checkHostKey(prop: string, hostKey: unknown, add: AddIssue): void {
  if (hostKey === undefined) return;
  if (typeof hostKey !== "string") add(prop, hostKey, "is not a string; allowed: \"TYPE BASE64\", e.g. \"ssh-ed25519 AAAA...\"");
  else if (!Token.isUnresolved(hostKey)) {
    const problem = hostKeyProblem(hostKey);
    if (problem) add(prop, hostKey, problem);
  }
}

const BASTION_KEYS = ["host", "port", "user", "privateKeyPath", "hostKey", "agent"];

/** connection.bastion: the same checks as the connection's own props, one issue per bad prop. */
function checkBastion(c: SshConnectionProps, add: AddIssue, redacted: AddRedacted): void {
  const b: unknown = c.bastion;
  if (!isPlainObject(b)) {
    // Not shown: a string here might be anything, a key included.
    redacted("connection.bastion", `is not an object; expected { host, ${BASTION_KEYS.slice(1).map((k) => `${k}?`).join(", ")} }`);
    return;
  }
  for (const [key, value] of Object.entries(b)) {
    if (value === undefined || BASTION_KEYS.includes(key)) continue;
    if (key === "privateKey") {
      redacted("connection.bastion.privateKey", `is not supported: the key would be stored in Terraform state, where \`terraform show -json\` prints it in clear text (destroy-time provisioners can only reach the connection through self); ${useInstead("connection.bastion.privateKey")}`);
    } else {
      redacted(`connection.bastion.${key}`, `is not a known bastion prop; allowed: ${BASTION_KEYS.join(", ")}`);
    }
  }
  const host = b.host;
  if (typeof host !== "string" || host === "") add("connection.bastion.host", host, "is missing; give the address of the bastion Terraform connects through");
  else if (!Token.isUnresolved(host) && !parseSshHost(host)) add("connection.bastion.host", host, NOT_AN_SSH_HOST);
  const port = b.port;
  if (port !== undefined && (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)) add("connection.bastion.port", port, "is out of range; allowed 1–65535");
  const user = b.user;
  if (user !== undefined && (typeof user !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(user))) add("connection.bastion.user", user, "is not a user name; allowed: a lowercase POSIX user name such as root");
  const agent = b.agent;
  if (agent !== undefined && typeof agent !== "boolean") add("connection.bastion.agent", agent, "is not a boolean");
  else if (typeof agent === "boolean" && typeof c.agent === "boolean" && agent !== c.agent) {
    add("connection.bastion.agent", agent, `contradicts connection.agent ${c.agent}: Terraform has one agent setting for both hops; give it once`);
  }
  checkKeyPath("connection.bastion.privateKeyPath", b.privateKeyPath, add, redacted);
  checkHostKey("connection.bastion.hostKey", b.hostKey, add);
}
