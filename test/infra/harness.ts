/**
 * Runs the real Pulumi program (infra/index.ts) against Pulumi's mocks: no AWS, no SSH, no
 * Docker daemon, no network. Records every resource with its inputs twice — as the program
 * sent them (secret-marked values replaced by "[secret]") and with secrets unwrapped — plus each
 * resource's dependencies, every provider function call, and the stack outputs (resolved, with
 * whether each is secret). Used by the tests and by `npm run bench:program`.
 */
import * as pulumi from "@pulumi/pulumi";

/** Marker of a secret value in the wire format (pulumi runtime/rpc.ts specialSigKey / specialSecretSig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const REDACTED = "[secret]";

export interface RecordedResource {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs with secret-marked values replaced by "[secret]": what anyone reading a diff or plain state sees. */
  plainInputs: Record<string, unknown>;
  /** Inputs with secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** URNs this resource depends on (dependsOn and Output dependencies). */
  dependencies: string[];
  parent: string;
  /** The resource options the engine would act on. */
  options: ResourceOptionsSent;
}

/** Resource options as the program sent them to the engine (RegisterResourceRequest). */
export interface ResourceOptionsSent {
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  /** undefined when not set. */
  replacementTrigger: unknown;
}

/**
 * Stands in for the engine and the cloud across runs (test/infra/aws-world.ts): answers each
 * registration from prior state, and provider functions it knows.
 */
export interface ResourceModel {
  register(type: string, name: string, inputs: Record<string, unknown>, options: ResourceOptionsSent): { id: string; state: Record<string, unknown> };
  call?(token: string, inputs: Record<string, unknown>): Record<string, unknown> | undefined;
}

export interface ProgramRun {
  resources: RecordedResource[];
  calls: { token: string; inputs: Record<string, unknown> }[];
  outputs: Record<string, unknown>;
  secretOutputs: Set<string>;
}

export interface ProgramConfig {
  stack: string;
  /** Config values by full key ("llm-fleet:fleet" …); objects are JSON-encoded. */
  config: Record<string, unknown>;
  secretKeys: string[];
  /**
   * Run as `pulumi preview` of a new stack: providers return nothing (ids, IPs, ARNs unknown).
   * @default false
   */
  preview?: boolean;
  /**
   * Resources (by name) the provider creates afresh in this run: they get new ids, as a resource
   * re-created after a refresh dropped it from the state does.
   * @default none
   */
  recreated?: string[];
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) return REDACTED;
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, redact(v)]));
  }
  return value;
}

function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) return unwrap(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

/** Computed state the providers would return, enough for the program's Outputs to resolve. */
export function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const arn = (service: string, resource: string) => `arn:aws:${service}:us-east-1:123456789012:${resource}`;
  switch (type) {
    case "aws:ec2/instance:Instance":
      return { arn: arn("ec2", `instance/i-${name}`), privateIp: `10.42.0.${10 + (hash(name) % 200)}`, publicIp: `198.51.100.${10 + (hash(name) % 200)}` };
    case "aws:ec2/eip:Eip":
      return { publicIp: "203.0.113.7", allocationId: `eipalloc-${name}` };
    case "aws:secretsmanager/secret:Secret":
      return { arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${String(inputs.name)}-AbCdEf` };
    case "aws:secretsmanager/secretVersion:SecretVersion":
      return { versionId: `v-${name}` };
    case "aws:iam/role:Role":
      return { arn: arn("iam", `role/${name}-1234567`), name: `${name}-1234567` };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { arn: arn("iam", `instance-profile/${name}-1234567`), name: `${name}-1234567` };
    case "aws:route53/zone:Zone":
      return { zoneId: `Z${name.toUpperCase()}` };
    case "aws:ec2/placementGroup:PlacementGroup":
      return { name: `${name}-1234567` };
    case "tls:index/privateKey:PrivateKey":
      return { privateKeyPem: fakePem(name), privateKeyOpenssh: `openssh ${fakePem(name)}`, privateKeyPemPkcs8: fakePem(name) };
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { certPem: `-----BEGIN CERTIFICATE-----\nfake certificate ${name}\n-----END CERTIFICATE-----\n` };
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: `sha256:${hash(String(inputs.name)).toString(16).padStart(8, "0")}`, repoDigest: `${String(inputs.name)}@sha256:0` };
    case "command:local:Command":
    case "command:remote:Command":
      return { stdout: "ok", stderr: "" };
    case STASH:
      // The engine's builtin provider: a new stash's output is its input (pkg/resource/deploy/builtins.go).
      return { output: inputs.input };
    default:
      return {};
  }
}

export const STASH = "pulumi:index:Stash";

/** The PEM the mocks give a tls.PrivateKey named `name` (tests derive generated secrets from it). */
export const fakePem = (name: string) => `-----BEGIN PRIVATE KEY-----\nfake key ${name}\n-----END PRIVATE KEY-----\n`;

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}

/** AWS lookups: three zones, every instance type offered in all but the first (so zone choice is exercised). */
export function call(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: ["us-east-1a", "us-east-1b", "us-east-1c"], zoneIds: ["use1-az1", "use1-az2", "use1-az4"], id: "us-east-1" };
    case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
      const filters = (inputs.filters ?? []) as { name: string; values: string[] }[];
      const types = filters.find((f) => f.name === "instance-type")?.values ?? [];
      const zones = ["us-east-1b", "us-east-1c"];
      return {
        instanceTypes: types.flatMap((t) => zones.map(() => t)),
        locations: types.flatMap(() => zones),
        locationTypes: types.flatMap(() => zones.map(() => "availability-zone")),
        id: "offerings",
      };
    }
    case "aws:ec2/getAmi:getAmi":
      return (inputs.owners as string[])[0] === "amazon"
        ? { id: "ami-0dlami2404", imageId: "ami-0dlami2404", name: "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04) 20260717" }
        : { id: "ami-0ubuntu2404", imageId: "ami-0ubuntu2404", name: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20260715" };
    case "aws:ec2/getSubnets:getSubnets":
      return { ids: ["subnet-0bbb", "subnet-0aaa"], id: "subnets" };
    default:
      throw new Error(`unexpected provider function call ${token}`);
  }
}

type Monitor = { registerResource: (req: RegisterRequest, cb: unknown) => unknown };
interface RegisterRequest {
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getReplacementTrigger(): { toJavaScript(): unknown } | undefined;
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getDependenciesList(): string[];
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/**
 * One program run. `load` imports infra/index.ts afresh (vitest: vi.resetModules + import();
 * the bench: a cleared require cache).
 */
export async function runProgram(cfg: ProgramConfig, load: () => Promise<Record<string, unknown>>, model?: ResourceModel): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  const calls: ProgramRun["calls"] = [];
  const raw = new Map<string, { plain: Record<string, unknown>; deps: string[]; parent: string; custom: boolean; options: ResourceOptionsSent }>();
  const noOptions: ResourceOptionsSent = { deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], replacementTrigger: undefined };
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const key = `${args.type}::${args.name}`;
        const r = raw.get(key);
        const inputs = unwrap(args.inputs) as Record<string, unknown>;
        const options = r?.options ?? noOptions;
        resources.push({ type: args.type, name: args.name, custom: r?.custom ?? true, plainInputs: r?.plain ?? {}, inputs, dependencies: r?.deps ?? [], parent: r?.parent ?? "", options });
        if (model) return model.register(args.type, args.name, inputs, options);
        // A builtin stash knows its output even in a preview (its Create ignores the preview flag).
        if (cfg.preview) return { id: undefined, state: args.type === STASH ? computedState(args.type, args.name, args.inputs) : {} };
        const fresh = cfg.recreated?.includes(args.name) ?? false;
        return { id: fresh ? `${args.name}-id-2` : `${args.name}-id`, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
      },
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs });
        return model?.call?.(args.token, args.inputs) ?? call(args.token, args.inputs);
      },
    },
    "llm-fleet",
    cfg.stack,
    cfg.preview ?? false,
  );
  const monitor = (pulumi.runtime as unknown as { getMonitor(): Monitor }).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
    raw.set(`${req.getType()}::${req.getName()}`, {
      plain: redact(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
      deps: req.getDependenciesList(),
      parent: req.getParent(),
      custom: req.getCustom(),
      options: {
        deleteBeforeReplace: req.getDeletebeforereplace(),
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        replacementTrigger: unwrap(req.getReplacementTrigger()?.toJavaScript()),
      },
    });
    return register(req, cb);
  };
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(cfg.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    cfg.secretKeys,
  );

  const program = await load();
  const outputs: Record<string, unknown> = {};
  const secretOutputs = new Set<string>();
  for (const [name, value] of Object.entries(program)) {
    if (!pulumi.Output.isInstance(value)) {
      outputs[name] = value;
      continue;
    }
    if (await pulumi.isSecret(value)) secretOutputs.add(name);
    outputs[name] = cfg.preview ? await previewValue(value) : await promiseOf(value);
  }
  await pulumi.runtime.disconnect();
  return { resources, calls, outputs, secretOutputs };
}

/** Type and name of a resource from its URN (urn:pulumi:stack::project::parent$type::name). */
export function urnParts(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  return { type: parts[2]!.split("$").at(-1)!, name: parts.slice(3).join("::") };
}

/** In a preview an Output may stay unknown: its apply never runs. */
async function previewValue(output: pulumi.Output<unknown>): Promise<unknown> {
  const known = await (output as unknown as { isKnown: Promise<boolean> }).isKnown;
  return known ? promiseOf(output) : UNKNOWN;
}
export const UNKNOWN = "[unknown]";

/** The value of an Output (resolved by the mocks). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}
