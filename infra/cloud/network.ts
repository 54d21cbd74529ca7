/**
 * Network: the VPC (new, or an existing one by id), one subnet in the chosen zone, the security
 * groups and ingress rules that placement.ts decided, cluster placement groups for multi-node
 * replicas, and the private Route 53 zone that names the AWS nodes (<node>.<fleet>.fleet.internal).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { privateZoneName } from "../plan";
import { chooseZone, type NetworkLayout } from "./placement";

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
  tags: Record<string, string>;
}

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
  /** Placement group names by cluster key. */
  readonly placementGroups: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:Network", name, {}, opts);
    const parent = { parent: this };
    const tags = (what: string) => ({ ...args.tags, Name: `${args.fleet}-${what}` });

    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, parent);
    const offerings = aws.ec2.getInstanceTypeOfferingsOutput(
      { locationType: "availability-zone", filters: [{ name: "instance-type", values: [...new Set(args.instanceTypes)].sort() }] },
      parent,
    );
    this.zone = pulumi.all([zones, offerings]).apply(([z, o]) =>
      chooseZone(z.names, o.locations.map((zone, i) => ({ zone, instanceType: o.instanceTypes[i]! })), args.instanceTypes, args.pinnedZone),
    );

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
    } else {
      const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: VPC_CIDR, enableDnsSupport: true, enableDnsHostnames: true, tags: tags("vpc") }, parent);
      const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags("igw") }, parent);
      // Public addresses for egress only (images, weights, SSM): no security group admits the internet except the gateway's.
      const subnet = new aws.ec2.Subnet(
        `${name}-subnet`,
        { vpcId: vpc.id, cidrBlock: SUBNET_CIDR, availabilityZone: this.zone, mapPublicIpOnLaunch: true, tags: tags("subnet") },
        parent,
      );
      const routes = new aws.ec2.RouteTable(`${name}-routes`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tags("routes") }, parent);
      new aws.ec2.RouteTableAssociation(`${name}-routes`, { subnetId: subnet.id, routeTableId: routes.id }, parent);
      this.vpcId = vpc.id;
      this.subnetId = subnet.id;
      this.subnetCidr = subnet.cidrBlock;
    }

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
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${rule.group}-${ports}-from-${from}`,
        { securityGroupId: groupId(rule.group), ipProtocol: "tcp", fromPort: rule.fromPort, toPort: rule.toPort, description: rule.description, tags: args.tags, ...source },
        parent,
      );
    }

    this.placementGroups = {};
    for (const key of Object.keys(args.layout.clusters)) {
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
