/**
 * Network: the VPC (new, or an existing one by id), one subnet in the fleet's zone, the security
 * groups and ingress rules that placement.ts decided, cluster placement groups for multi-node
 * replicas, the reserved range of their fixed addresses, and the private Route 53 zone that
 * names the AWS nodes (<node>.<fleet>.fleet.internal).
 *
 * The zone is chosen once and kept (a Stash in state): AWS offerings change, and a new
 * instance type must not move the subnet (Subnet.availabilityZone replaces it, and a second
 * subnet with the same range is refused: InvalidSubnet.Conflict) nor every instance with it.
 * Setting llm-fleet:availabilityZone replaces the stash, which is how a fleet moves on purpose.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { privateZoneName } from "../plan";
import { chooseZone, keptZone, type NetworkLayout } from "./placement";
import { rangeAddresses, stageRange } from "./stageAddresses";

/** A new VPC's range; the one subnet holds 4,091 addresses, far beyond any fleet. */
export const VPC_CIDR = "10.42.0.0/16";
export const SUBNET_CIDR = "10.42.0.0/20";

export interface NetworkArgs {
  fleet: string;
  /** Use this VPC (spec `vpcId`); its subnet in `zone` must reach the internet. @default a new VPC */
  vpcId?: string;
  /** Instance types of every machine: the zone must offer them all. */
  instanceTypes: string[];
  /** Zone to use instead of the first that offers every type (llm-fleet:availabilityZone). */
  pinnedZone?: string;
  layout: NetworkLayout;
  /** Tags of every resource; `fleet` and `stack` also find this stack's own instances. */
  tags: Record<string, string>;
}

const offeringsOf = (o: aws.ec2.GetInstanceTypeOfferingsResult) => o.locations.map((zone, i) => ({ zone, instanceType: o.instanceTypes[i]! }));

export class Network extends pulumi.ComponentResource {
  /** The one availability zone of the fleet's machines. */
  readonly zone: pulumi.Output<string>;
  readonly vpcId: pulumi.Output<string>;
  readonly subnetId: pulumi.Output<string>;
  /** The subnet's range: stage nodes of multi-node replicas get fixed addresses inside it. */
  readonly subnetCidr: pulumi.Output<string>;
  readonly privateZoneId: pulumi.Output<string>;
  /** Security group ids by layout key. */
  readonly securityGroupIds: Record<string, pulumi.Output<string>>;
  /** Placement group names by layout key. */
  readonly placementGroups: Record<string, pulumi.Output<string>>;
  /**
   * The subnet's range once the stage range in it is known to be free for this stack's fixed
   * addresses (existing VPCs: no other machine holds one); the stage addresses derive from it.
   */
  readonly stageSubnetCidr: pulumi.Output<string>;
  /** The explicit reservation of the stage range: machines launch after it, so DHCP never hands those addresses out. */
  readonly stageReservation: aws.ec2.SubnetCidrReservation | undefined;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:Network", name, {}, opts);
    const parent = { parent: this };
    const tags = (what: string) => ({ ...args.tags, Name: `${args.fleet}-${what}` });
    const hasStages = Object.keys(args.layout.clusters).length > 0;

    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, parent);
    const offerings = aws.ec2.getInstanceTypeOfferingsOutput(
      { locationType: "availability-zone", filters: [{ name: "instance-type", values: [...new Set(args.instanceTypes)].sort() }] },
      parent,
    );
    const types = [...new Set(args.instanceTypes)].sort();
    const chosen = pulumi.all([zones, offerings]).apply(([z, o]) => chooseZone(z.names, offeringsOf(o), types, args.pinnedZone));
    const kept = new pulumi.Stash(`${name}-zone`, { input: chosen }, { parent: this, replacementTrigger: args.pinnedZone ?? "first zone offering every type" });
    this.zone = pulumi.all([kept.output, offerings]).apply(([zone, o]) => keptZone(String(zone), offeringsOf(o), types));

    if (args.vpcId) {
      this.vpcId = pulumi.output(args.vpcId);
      this.subnetId = aws.ec2
        .getSubnetsOutput({ filters: [{ name: "vpc-id", values: [args.vpcId] }, { name: "availability-zone", values: [this.zone] }] }, parent)
        .apply((found) => {
          const first = [...found.ids].sort()[0];
          if (!first) throw new Error(`VPC ${args.vpcId} has no subnet in the fleet's availability zone; add one, or set llm-fleet:availabilityZone to a zone where it has one`);
          return first;
        });
      this.subnetCidr = aws.ec2.getSubnetOutput({ id: this.subnetId }, parent).cidrBlock;
      const lookups = ec2Lookups(args.tags, parent);
      this.stageSubnetCidr = hasStages ? pulumi.all([this.subnetId, this.subnetCidr]).apply(([id, cidr]) => checkStageRangeFree(id, cidr, lookups)) : this.subnetCidr;
    } else {
      const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: VPC_CIDR, enableDnsSupport: true, enableDnsHostnames: true, tags: tags("vpc") }, parent);
      const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("igw") }, parent);
      // Public addresses for egress only (images, weights, SSM): no security group admits the internet except the gateway's.
      const subnet = new aws.ec2.Subnet(
        `${name}-subnet`,
        { vpcId: vpc.id, cidrBlock: SUBNET_CIDR, availabilityZone: this.zone, mapPublicIpOnLaunch: true, tags: tags("subnet") },
        // Moving zones (llm-fleet:availabilityZone) replaces it: a second subnet with the same
        // range is refused, so the old one (and the instances in it) go first.
        { ...parent, deleteBeforeReplace: true },
      );
      const routes = new aws.ec2.RouteTable(`${name}-routes`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("routes") }, parent);
      new aws.ec2.RouteTableAssociation(`${name}-routes`, { subnetId: subnet.id, routeTableId: routes.id }, parent);
      this.vpcId = vpc.id;
      this.subnetId = subnet.id;
      this.subnetCidr = subnet.cidrBlock;
      this.stageSubnetCidr = subnet.cidrBlock;
    }
    this.stageReservation = hasStages
      ? new aws.ec2.SubnetCidrReservation(
          `${name}-stage-addresses`,
          {
            subnetId: this.subnetId,
            cidrBlock: this.stageSubnetCidr.apply((cidr) => stageRange(cidr).cidr),
            reservationType: "explicit",
            description: `llm-fleet ${args.fleet}: fixed addresses of pipeline stage nodes`,
          },
          parent,
        )
      : undefined;

    this.securityGroupIds = {};
    for (const [key, description] of Object.entries(args.layout.groups)) {
      const group = new aws.ec2.SecurityGroup(`${name}-${key}`, { vpcId: this.vpcId, description, tags: tags(key) }, parent);
      // Everything outbound: image registries, Hugging Face, SSM and Secrets Manager endpoints.
      new aws.vpc.SecurityGroupEgressRule(`${name}-${key}-egress`, { securityGroupId: group.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "all outbound", tags: args.tags }, parent);
      this.securityGroupIds[key] = group.id;
    }
    const groupId = (key: string) => {
      const id = this.securityGroupIds[key];
      if (!id) throw new Error(`network: no security group "${key}" in the layout`);
      return id;
    };
    for (const rule of args.layout.rules) {
      const source = "cidr" in rule.source ? { cidrIpv4: rule.source.cidr } : { referencedSecurityGroupId: groupId(rule.source.group) };
      const ports = rule.fromPort === rule.toPort ? `${rule.fromPort}` : `${rule.fromPort}-${rule.toPort}`;
      const from = "cidr" in rule.source ? rule.source.cidr.replace(/[./]/g, "-") : rule.source.group;
      const what = rule.protocol === "tcp" ? ports : `icmp-${rule.fromPort}-${rule.toPort}`;
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${rule.group}-${what}-from-${from}`,
        { securityGroupId: groupId(rule.group), ipProtocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort, description: rule.description, tags: args.tags, ...source },
        parent,
      );
    }

    this.placementGroups = {};
    for (const key of Object.keys(args.layout.placementGroups)) {
      const group = new aws.ec2.PlacementGroup(`${name}-${key}`, { strategy: "cluster", tags: tags(key) }, parent);
      this.placementGroups[key] = group.name;
    }

    const names = new aws.route53.Zone(
      `${name}-dns`,
      { name: privateZoneName(args.fleet), vpcs: [{ vpcId: this.vpcId }], comment: `llm-fleet ${args.fleet}: node names`, forceDestroy: true, tags: args.tags },
      parent,
    );
    this.privateZoneId = names.zoneId;

    this.registerOutputs({ zone: this.zone, vpcId: this.vpcId, subnetId: this.subnetId, subnetCidr: this.subnetCidr, privateZoneId: this.privateZoneId, securityGroupIds: this.securityGroupIds });
  }
}

/** The EC2 lookups the stage-range check makes (the provider's functions; stand-ins in tests). */
export interface StageRangeLookups {
  /** Network interfaces in the subnet holding any of these addresses. */
  interfacesHolding(subnetId: string, addresses: string[]): Promise<string[]>;
  /** Network interfaces of this stack's own instances (tagged fleet + stack) in the subnet. */
  ownInterfaces(subnetId: string): Promise<string[]>;
}

export function ec2Lookups(tags: Record<string, string>, opts: pulumi.InvokeOptions): StageRangeLookups {
  return {
    interfacesHolding: async (subnetId, addresses) =>
      (await aws.ec2.getNetworkInterfaces({ filters: [{ name: "subnet-id", values: [subnetId] }, { name: "addresses.private-ip-address", values: addresses }] }, opts)).ids,
    ownInterfaces: async (subnetId) => {
      const own = await aws.ec2.getInstances(
        { instanceTags: { fleet: tags.fleet ?? "", stack: tags.stack ?? "" }, instanceStateNames: ["pending", "running", "stopping", "stopped"], filters: [{ name: "subnet-id", values: [subnetId] }] },
        opts,
      );
      return own.ids.length > 0 ? (await aws.ec2.getNetworkInterfaces({ filters: [{ name: "attachment.instance-id", values: own.ids }] }, opts)).ids : [];
    },
  };
}

/**
 * An existing subnet's stage range must hold no other machine's address: a reservation may be
 * created over addresses in use (AWS VPC User Guide, "Subnet CIDR reservations"), and a stage
 * node asking for one would fail with InvalidIPAddress.InUse. Addresses held by this stack's own
 * instances are expected. Resolves to the subnet's range; throws, with the fix, otherwise.
 */
export async function checkStageRangeFree(subnetId: string, subnetCidr: string, lookups: StageRangeLookups): Promise<string> {
  const range = stageRange(subnetCidr);
  const inRange = await lookups.interfacesHolding(subnetId, rangeAddresses(range));
  if (inRange.length === 0) return subnetCidr;
  const own = await lookups.ownInterfaces(subnetId);
  const foreign = inRange.filter((eni) => !own.includes(eni)).sort();
  if (foreign.length === 0) return subnetCidr;
  throw new Error(
    `subnet ${subnetId} (${subnetCidr}): network interfaces ${foreign.join(", ")} hold addresses in ${range.cidr}, the range this fleet reserves for the fixed addresses of its pipeline stage nodes; ` +
      `free those addresses, or give the fleet another subnet (vpcId: a VPC whose subnet in the fleet's zone has ${range.cidr} unused), or leave vpcId unset for a new VPC`,
  );
}
