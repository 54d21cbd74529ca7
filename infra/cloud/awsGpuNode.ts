/**
 * AwsGpuNode: one EC2 instance of the plan with everything it needs to start its engines alone:
 * an instance role that may read only this node's secrets and tag only itself (plus Session
 * Manager instead of SSH), the rendered cloud-init as user data, an encrypted gp3 root sized by
 * the planner, IMDSv2 only, and its name in the fleet's private zone.
 *
 * Replacement is decided here on purpose. A GPU node is replaced delete-first: a stage node asks
 * for a fixed private IP that the old instance still holds (EC2 refuses a second holder with
 * InvalidIPAddress.InUse), and two GPU instances side by side need twice the vCPU quota. Its
 * image is kept in a Stash: a new AMI release does not replace a running node, but whatever
 * replaces it (new user data, address, subnet, placement group, spot, a rollout trigger) also
 * renews the stash, so the new instance boots the newest image, not the stale one.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NodePlan } from "../plan/types";
import { encodeUserData, READY_TAG_KEY } from "../render";
import { dependsOnOf } from "./dependsOn";
import { ec2AssumeRolePolicy, readSecretsPolicy, tagSelfPolicy } from "./policies";

export interface AwsGpuNodeArgs {
  /** The planned node (provider "aws"): instance type, spot, disk, address, placements. */
  node: NodePlan;
  amiId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  securityGroupIds: pulumi.Input<string>[];
  /** Cluster placement group of its multi-node replica. @default none */
  placementGroup?: pulumi.Input<string>;
  /** Fixed private address (stage nodes of multi-node replicas: see stageAddresses.ts). @default assigned by AWS */
  privateIp?: pulumi.Input<string>;
  /** Private hosted zone to hold an A record for `node.address`. @default no record */
  privateZoneId?: pulumi.Input<string>;
  /** cloud-init user data from the renderer (names secrets, never holds them). */
  userData: pulumi.Input<string>;
  /** Secrets Manager ARNs of exactly the secrets this node reads at boot. */
  secretArns: pulumi.Input<string>[];
  tags: Record<string, string>;
  /**
   * "delete-first" for GPU nodes (fixed addresses, vCPU quota); "create-first" keeps a machine
   * that has neither (the gateway) serving until its successor exists.
   */
  replacement: "delete-first" | "create-first";
  /** Values whose change must roll the machine out (e.g. the certificate nginx reads at boot). @default none */
  rolloutTriggers?: pulumi.Input<string>[];
}

const sha256 = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/** EC2 takes 16 KB of user data; say which machine is over and what to do. */
function encodedUserData(nodeName: string, text: string): string {
  try {
    return encodeUserData(text).base64;
  } catch (err) {
    throw new Error(`AWS machine "${nodeName}": ${(err as Error).message}; put fewer models on it (the gateway: fewer models per fleet, or run it on a docker node)`);
  }
}

/** EC2 tag values hold at most 256 characters. */
const TAG_VALUE_MAX = 256;

export class AwsGpuNode extends pulumi.ComponentResource {
  readonly instanceId: pulumi.Output<string>;
  readonly instanceArn: pulumi.Output<string>;
  readonly privateIp: pulumi.Output<string>;
  readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: AwsGpuNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:AwsGpuNode", name, {}, opts);
    const { node } = args;
    if (node.spec.provider !== "aws" || !node.instanceType) throw new Error(`AwsGpuNode: node "${node.name}" is not an aws node`);
    const parent = { parent: this };
    const models = [...new Set(node.placements.map((p) => p.model))].join(" ").slice(0, TAG_VALUE_MAX);
    const tags = { ...args.tags, ...node.spec.labels, Name: `${args.tags.fleet ?? ""}-${node.name}`, node: node.name, ...(models ? { model: models } : {}) };

    const role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: JSON.stringify(ec2AssumeRolePolicy()), description: `llm-fleet node ${node.name}`, tags: args.tags }, parent);
    const ssm = new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: role.name, policyArn: aws.iam.ManagedPolicy.AmazonSSMManagedInstanceCore }, parent);
    const dependsOn: pulumi.Input<pulumi.Resource>[] = [...dependsOnOf(opts), ssm];
    if (args.secretArns.length > 0) {
      const policy = pulumi.all(args.secretArns).apply((arns) => JSON.stringify(readSecretsPolicy(arns)));
      dependsOn.push(new aws.iam.RolePolicy(`${name}-read-secrets`, { role: role.name, policy }, parent));
    }
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name, tags: args.tags }, parent);

    const userDataBase64 = pulumi.output(args.userData).apply((text) => encodedUserData(node.name, text));
    const spot = node.spec.spot;
    // What replaces the instance (aws_instance ForceNew: user data with userDataReplaceOnChange,
    // subnet, private IP, placement group, market options; plus the rollout triggers).
    const replacedBy = pulumi
      .all([userDataBase64, args.subnetId, args.privateIp ?? "", args.placementGroup ?? "", spot, ...(args.rolloutTriggers ?? [])])
      .apply((parts) => sha256(parts));
    const rollout = args.rolloutTriggers && args.rolloutTriggers.length > 0 ? pulumi.all(args.rolloutTriggers).apply((t) => sha256(t)) : undefined;
    const image = new pulumi.Stash(`${name}-ami`, { input: args.amiId }, { parent: this, replacementTrigger: replacedBy });

    const instance = new aws.ec2.Instance(
      name,
      {
        ami: image.output.apply((id) => String(id)),
        instanceType: node.instanceType,
        subnetId: args.subnetId,
        privateIp: args.privateIp,
        vpcSecurityGroupIds: args.securityGroupIds,
        placementGroup: args.placementGroup,
        iamInstanceProfile: profile.name,
        userDataBase64,
        // cloud-init writes files on the first boot only: new files need a new instance.
        userDataReplaceOnChange: true,
        // IMDSv2 only; hop limit 1 keeps containers on the bridge network away from the role's credentials.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: "gp3", volumeSize: node.diskGiB, encrypted: true, deleteOnTermination: true, tags },
        // One-time spot: a reclaimed node is gone, never relaunched behind Pulumi's back (a
        // persistent request would outlive `pulumi destroy`); the next `pulumi up` replaces it.
        instanceMarketOptions: spot ? { marketType: "spot", spotOptions: { spotInstanceType: "one-time", instanceInterruptionBehavior: "terminate" } } : undefined,
        tags,
      },
      { parent: this, dependsOn, deleteBeforeReplace: args.replacement === "delete-first", ...(rollout ? { replacementTrigger: rollout } : {}) },
    );
    new aws.iam.RolePolicy(`${name}-report-status`, { role: role.name, policy: instance.arn.apply((arn) => JSON.stringify(tagSelfPolicy(arn, READY_TAG_KEY))) }, parent);
    if (args.privateZoneId) {
      new aws.route53.Record(`${name}-dns`, { zoneId: args.privateZoneId, name: node.address, type: "A", ttl: 60, records: [instance.privateIp] }, parent);
    }

    this.instanceArn = instance.arn;
    this.instanceId = instance.id;
    this.privateIp = instance.privateIp;
    this.publicIp = instance.publicIp;
    this.registerOutputs({ instanceId: this.instanceId, privateIp: this.privateIp, publicIp: this.publicIp });
  }
}
