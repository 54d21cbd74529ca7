/**
 * A stateful stand-in for the Pulumi engine and AWS across several `pulumi up`s of the real
 * program, so tests can see what a change, a replacement or a new AMI does — not only what one
 * run declares. It models, from the real things:
 * - the engine: prior state per resource; ignoreChanges (old values copied into the new inputs),
 *   replaceOnChanges, replacementTrigger (replace when it differs from the recorded value),
 *   create-before-delete by default and deleteBeforeReplace; a delete-first replacement first
 *   deletes the dependents that must be replaced with it (engine calculateDependentReplacements);
 *   resources not registered again are deleted at the end;
 * - the builtin Stash (pkg/resource/deploy/builtins.go): Create output = input; Update keeps the
 *   old output;
 * - the AWS provider's replace-on-change (ForceNew) properties of the resources used here;
 * - EC2: a private IP held by a live instance is refused to another (InvalidIPAddress.InUse);
 *   DHCP may hand out any free address outside explicit subnet CIDR reservations and the five
 *   AWS-reserved ones — this model picks, adversarially, the addresses in `dhcpPrefers` first;
 *   a subnet whose range overlaps a live subnet of the VPC is refused (InvalidSubnet.Conflict);
 *   a subnet that still holds instances cannot be deleted (DependencyViolation).
 * AWS errors are collected in `errors` (the run goes on), so a test asserts there are none.
 */
import { STASH, call as defaultCall, computedState, type ResourceModel, type ResourceOptionsSent } from "./harness";

const INSTANCE = "aws:ec2/instance:Instance";
const SUBNET = "aws:ec2/subnet:Subnet";
const RESERVATION = "aws:ec2/subnetCidrReservation:SubnetCidrReservation";

/** aws_* arguments marked ForceNew in the Terraform AWS provider that the Pulumi AWS provider wraps. */
function forceNew(type: string, inputs: Record<string, unknown>): string[] {
  switch (type) {
    case INSTANCE:
      return ["ami", "availabilityZone", "subnetId", "privateIp", "placementGroup", "instanceMarketOptions", ...(inputs.userDataReplaceOnChange ? ["userDataBase64"] : [])];
    case SUBNET:
      return ["availabilityZone", "cidrBlock", "vpcId"];
    case RESERVATION:
      return ["subnetId", "cidrBlock", "reservationType"];
    case "aws:ec2/placementGroup:PlacementGroup":
      return ["strategy"];
    case "aws:ec2/eipAssociation:EipAssociation":
      return ["instanceId", "allocationId"];
    case "aws:route53/record:Record":
      return ["zoneId", "name", "type"];
    case "tls:index/selfSignedCert:SelfSignedCert":
      return ["privateKeyPem", "subject", "dnsNames", "ipAddresses", "validityPeriodHours", "allowedUses", "earlyRenewalHours"];
    default:
      return [];
  }
}

interface Stored {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  trigger: unknown;
}

export type Step = "create" | "same" | "update" | "replace";

const toInt = (ip: string) => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
function cidrRange(cidr: string): { first: number; size: number } {
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return { first: toInt(base!) - (toInt(base!) % size), size };
}
const contains = (outer: string, inner: string) => {
  const [o, i] = [cidrRange(outer), cidrRange(inner)];
  return i.first >= o.first && i.first + i.size <= o.first + o.size;
};
const overlaps = (a: string, b: string) => {
  const [x, y] = [cidrRange(a), cidrRange(b)];
  return x.first < y.first + y.size && y.first < x.first + x.size;
};
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface WorldOptions {
  /** Addresses DHCP hands out first when free and not reserved (the worst case for fixed addresses). */
  dhcpPrefers?: string[];
  /** Existing subnets (spec vpcId): id → range. */
  existingSubnets?: Record<string, string>;
  /** Replace these resources ("type::name") in the next run, as `pulumi up --replace` or a provider marking them would. */
  forceReplace?: string[];
  /**
   * Another machine launches by DHCP into the subnet right after each instance is deleted for a
   * delete-first replacement (the gateway, a spot node, a colleague's box): "at the same time".
   */
  concurrentDhcpLaunch?: boolean;
}

export class AwsWorld implements ResourceModel {
  private state = new Map<string, Stored>();
  private seen = new Set<string>();
  private pendingDeletes: Stored[] = [];
  private generation = 0;
  /** Private IP → key of the instance holding it. */
  private readonly addresses = new Map<string, string>();
  /** Subnet id → range, for subnets alive now. */
  private readonly subnets = new Map<string, string>();
  private readonly reservations: { subnetId: string; cidr: string; key: string }[] = [];
  /** AWS errors of the current run. */
  errors: string[] = [];
  /** What the current run did to each resource. */
  steps = new Map<string, Step>();
  /** For replacements: whether the old one was deleted first. */
  deletedFirst = new Set<string>();
  /** Provider function answers the test changes between runs (e.g. a newer AMI). */
  calls: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown> | undefined> = {};

  constructor(private readonly options: WorldOptions = {}) {
    for (const [id, cidr] of Object.entries(options.existingSubnets ?? {})) this.subnets.set(id, cidr);
  }

  /** Start a run (a `pulumi up`). */
  begin(forceReplace: string[] = []): void {
    this.options.forceReplace = forceReplace;
    this.errors = [];
    this.steps = new Map();
    this.deletedFirst = new Set();
    this.seen = new Set();
    this.pendingDeletes = [];
    this.generation += 1;
  }

  /** End a run: deferred deletes of create-before-delete replacements, then resources the program no longer declares. */
  finish(): void {
    for (const old of this.pendingDeletes) this.destroy(old);
    for (const [key, stored] of [...this.state]) {
      if (!this.seen.has(key)) {
        this.destroy(stored);
        this.state.delete(key);
      }
    }
  }

  stored(type: string, name: string): Stored | undefined {
    return this.state.get(`${type}::${name}`);
  }

  /** The instance holding a private IP now. */
  holderOf(ip: string): string | undefined {
    return this.addresses.get(ip);
  }

  call(token: string, inputs: Record<string, unknown>): Record<string, unknown> | undefined {
    if (this.calls[token]) return this.calls[token]!(inputs);
    if (token === "aws:ec2/getSubnet:getSubnet") {
      const cidr = this.subnets.get(String(inputs.id));
      return cidr ? { id: inputs.id, cidrBlock: cidr } : undefined;
    }
    if (token === "aws:ec2/getNetworkInterfaces:getNetworkInterfaces") return { id: "enis", ids: [] };
    if (token === "aws:ec2/getInstances:getInstances") return { id: "instances", ids: [], privateIps: [], publicIps: [], ipv6Addresses: [] };
    return defaultCall(token, inputs);
  }

  register(type: string, name: string, rawInputs: Record<string, unknown>, options: ResourceOptionsSent): { id: string; state: Record<string, unknown> } {
    const key = `${type}::${name}`;
    this.seen.add(key);
    const prior = this.state.get(key);
    const inputs = { ...rawInputs };
    if (prior) for (const path of options.ignoreChanges) if (path in prior.inputs) inputs[path] = prior.inputs[path];
    const changed = prior ? [...new Set([...Object.keys(inputs), ...Object.keys(prior.inputs)])].filter((k) => !same(inputs[k], prior.inputs[k])) : [];
    const replaceKeys = [...forceNew(type, inputs), ...options.replaceOnChanges];
    const replace =
      prior !== undefined &&
      (changed.some((k) => replaceKeys.includes(k) || replaceKeys.includes("*")) ||
        (this.options.forceReplace ?? []).includes(key) ||
        (options.replacementTrigger !== undefined && !same(options.replacementTrigger, prior.trigger)));

    let stored: Stored;
    if (!prior) {
      this.steps.set(key, "create");
      stored = this.create(type, name, inputs, options);
    } else if (replace) {
      this.steps.set(key, "replace");
      if (options.deleteBeforeReplace) {
        this.deletedFirst.add(key);
        this.deleteDependentsOf(prior);
        this.destroy(prior);
        if (this.options.concurrentDhcpLaunch && type === INSTANCE) this.launch(`foreign::after-${name}-${this.generation}`, { subnetId: prior.inputs.subnetId }, prior.outputs.privateIp as string);
      } else {
        this.pendingDeletes.push(prior);
      }
      stored = this.create(type, name, inputs, options);
    } else if (changed.length > 0 || !same(options.replacementTrigger, prior.trigger)) {
      this.steps.set(key, "update");
      const outputs = type === STASH ? { input: inputs.input, output: prior.outputs.output } : { ...prior.outputs, ...inputs };
      stored = { ...prior, inputs, outputs, trigger: options.replacementTrigger };
    } else {
      this.steps.set(key, "same");
      stored = prior;
    }
    this.state.set(key, stored);
    return { id: stored.id, state: stored.outputs };
  }

  private create(type: string, name: string, inputs: Record<string, unknown>, options: ResourceOptionsSent): Stored {
    const id = `${name}-id-${this.generation}`;
    const outputs: Record<string, unknown> = { ...inputs, ...computedState(type, `${name}-${this.generation}`, inputs) };
    if (type === STASH) outputs.output = inputs.input;
    if (type === SUBNET) this.createSubnet(id, name, inputs);
    if (type === RESERVATION) this.createReservation(`${type}::${name}`, inputs);
    if (type === INSTANCE) outputs.privateIp = this.launch(`${type}::${name}`, inputs);
    return { type, name, id, inputs, outputs, trigger: options.replacementTrigger };
  }

  private createSubnet(id: string, name: string, inputs: Record<string, unknown>): void {
    const cidr = String(inputs.cidrBlock);
    for (const [other, range] of this.subnets) {
      if (overlaps(range, cidr)) this.errors.push(`InvalidSubnet.Conflict: subnet ${name}: the CIDR '${cidr}' conflicts with another subnet (${other})`);
    }
    this.subnets.set(id, cidr);
  }

  private createReservation(key: string, inputs: Record<string, unknown>): void {
    const subnetId = String(inputs.subnetId);
    const cidr = String(inputs.cidrBlock);
    const subnet = this.subnets.get(subnetId);
    if (!subnet || !contains(subnet, cidr)) this.errors.push(`InvalidSubnetCidrReservation: ${cidr} is not inside subnet ${subnetId} (${subnet ?? "unknown"})`);
    if (this.reservations.some((r) => overlaps(r.cidr, cidr))) this.errors.push(`InvalidSubnetCidrReservation.Overlap: ${cidr}`);
    this.reservations.push({ subnetId, cidr, key });
  }

  /** RunInstances: the requested private IP, or one from DHCP. */
  private launch(key: string, inputs: Record<string, unknown>, dhcpFirst?: string): string {
    const subnetId = String(inputs.subnetId);
    const subnet = this.subnets.get(subnetId);
    if (!subnet) {
      this.errors.push(`InvalidSubnetID.NotFound: ${subnetId}`);
      return "0.0.0.0";
    }
    const requested = inputs.privateIp as string | undefined;
    if (requested) {
      const { first, size } = cidrRange(subnet);
      const n = toInt(requested);
      if (n < first + 4 || n >= first + size - 1) this.errors.push(`InvalidParameterValue: address ${requested} is not available in subnet ${subnet}`);
      const holder = this.addresses.get(requested);
      if (holder) this.errors.push(`InvalidIPAddress.InUse: Address ${requested} is in use (by ${holder}) — asked for by ${key}`);
      this.addresses.set(requested, key);
      return requested;
    }
    const { first, size } = cidrRange(subnet);
    const reserved = this.reservations.filter((r) => r.subnetId === subnetId).map((r) => cidrRange(r.cidr));
    const free = (n: number) => n >= first + 4 && n < first + size - 1 && !this.addresses.has(toIp(n)) && !reserved.some((r) => n >= r.first && n < r.first + r.size);
    const preferred = [...(dhcpFirst ? [dhcpFirst] : []), ...(this.options.dhcpPrefers ?? [])].map(toInt).find(free);
    let pick = preferred;
    for (let n = first + 4; pick === undefined && n < first + size - 1; n++) if (free(n)) pick = n;
    const ip = toIp(pick!);
    this.addresses.set(ip, key);
    return ip;
  }

  private deleteDependentsOf(prior: Stored): void {
    // The engine deletes, before a delete-first replacement, the dependents that are replaced with it.
    if (prior.type !== SUBNET) return;
    for (const [key, s] of [...this.state]) {
      if (s.type === INSTANCE && s.inputs.subnetId === prior.id) {
        this.destroy(s);
        this.state.delete(key);
      }
      if (s.type === RESERVATION && s.inputs.subnetId === prior.id) {
        this.destroy(s);
        this.state.delete(key);
      }
    }
  }

  private destroy(s: Stored): void {
    const key = `${s.type}::${s.name}`;
    if (s.type === INSTANCE) {
      const ip = s.outputs.privateIp as string;
      if (this.addresses.get(ip) === key) this.addresses.delete(ip);
      else for (const [a, holder] of this.addresses) if (holder === key && a === ip) this.addresses.delete(a);
    }
    if (s.type === SUBNET) {
      const holders = [...this.state.values()].filter((x) => x.type === INSTANCE && x.inputs.subnetId === s.id && x !== s);
      const live = holders.filter((h) => this.addresses.has(h.outputs.privateIp as string));
      if (live.length > 0) this.errors.push(`DependencyViolation: subnet ${s.name} (${s.id}) still has instances ${live.map((h) => h.name).join(", ")}`);
      this.subnets.delete(s.id);
    }
    if (s.type === RESERVATION) {
      const i = this.reservations.findIndex((r) => r.key === key && r.cidr === s.inputs.cidrBlock);
      if (i >= 0) this.reservations.splice(i, 1);
    }
  }
}
