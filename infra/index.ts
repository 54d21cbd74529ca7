/**
 * The Pulumi program: spec (llm-fleet:fleet) → plan → rendered files → resources → outputs.
 * Every decision is made above this file (infra/plan, infra/render); here the plan's nodes become
 * machines, the gateway goes in front, and the update waits until every model answers. A bad
 * spec or stack config fails here, at `pulumi preview`, with the same messages as `fleet plan`.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import {
  AwsGpuNode,
  DEEP_LEARNING_AMI,
  DockerHost,
  GATEWAY_AMI,
  GATEWAY_GROUP,
  Gateway,
  Network,
  Readiness,
  Secrets,
  SshHost,
  fleetTags,
  gatewayOnAws,
  latestAmiId,
  loadSettings,
  networkLayout,
  placementGroupOfNode,
  stageAddresses,
  stageReplicas,
  usesAws,
} from "./cloud";
import { planFleet, type NodePlan } from "./plan";
import { requireGateway } from "./plan/gateway";
import { requiredSecretNames } from "./plan/secrets";
import { fleetOutputs } from "./registry/outputs";
import { ENGINE_API_KEY_SECRET, USER_DATA_FILE, awsSecretIdPrefix, nodeContainers, renderNode, secretsOfNode } from "./render";
import { parseFleetSpec } from "./spec";
import { CONFIG_NAMESPACE, FLEET_CONFIG_KEY, FLEET_CONFIG_NAME } from "./spec/config-keys";

const stack = pulumi.getStack();
const spec = parseFleetSpec(new pulumi.Config(CONFIG_NAMESPACE).requireObject(FLEET_CONFIG_NAME), `Pulumi config ${FLEET_CONFIG_KEY} (stack ${stack})`);
const plan = requireGateway(planFleet(spec), "pulumi up");
const settings = loadSettings(plan);
const tags = fleetTags(plan, settings);
const render = { stack };
const secretIdPrefix = awsSecretIdPrefix(plan.name, stack);

const awsNodes = plan.nodes.filter((n) => n.provider === "aws");
/** Every node's files, rendered once. */
const rendered = Object.fromEntries(plan.nodes.map((n) => [n.name, renderNode(plan, n.name, render)]));
// Client keys are stored too, under client-keys/<name>, for apps that read them from AWS.
const secrets = new Secrets("secrets", {
  prefix: secretIdPrefix,
  values: {
    ...Object.fromEntries(requiredSecretNames(plan).map((name) => [name, settings.secrets.apply((values) => values[name]!)])),
    ...Object.fromEntries(Object.keys(plan.gateway.keys).map((key) => [`client-keys/${key}`, settings.clientKeys.apply((keys) => keys[key]!)])),
  },
  generate: [ENGINE_API_KEY_SECRET],
  storeInAws: usesAws(plan),
  tags,
});

const gatewayCidrs = plan.gateway.allowedCidrs;
const layout = networkLayout(plan, gatewayCidrs);
const network = usesAws(plan)
  ? new Network("network", {
      fleet: plan.name,
      vpcId: plan.spec.vpcId,
      instanceTypes: [...awsNodes.map((n) => n.instanceType!), ...(gatewayOnAws(plan) ? [settings.gatewayInstanceType] : [])],
      pinnedZone: settings.availabilityZone,
      layout,
      tags,
    })
  : undefined;
const amiId = awsNodes.length > 0 ? latestAmiId(DEEP_LEARNING_AMI) : undefined;
/**
 * When each multi-node replica first appeared in this stack, kept in state (ignoreChanges keeps
 * the first value): on an address collision the older replica keeps its block, so adding a
 * model never moves another's nodes (stageAddresses.ts).
 */
const deployedAt = new Date().toISOString();
const stageSince = Object.fromEntries(
  stageReplicas(plan).map((r) => [r.key, new pulumi.Stash(`stage-since-${r.key}`, { input: deployedAt }, { ignoreChanges: ["input"] }).output.apply((t) => String(t))]),
);
/** Stage nodes of multi-node replicas get addresses that sort in stage order (vLLM ranks Ray workers by IP). */
const stageIps = network ? pulumi.all([network.stageSubnetCidr, pulumi.all(stageSince)]).apply(([cidr, since]) => stageAddresses(plan, cidr, since)) : undefined;
/** Every machine launches after the stage range is reserved, so DHCP cannot hand out a stage address. */
const afterReservation = network?.stageReservation ? [network.stageReservation] : [];

interface Machine {
  resource: pulumi.Resource;
  details: Record<string, pulumi.Input<unknown>>;
}
const machines: Record<string, Machine> = {};
const dockerHosts: Record<string, DockerHost> = {};

function placeNode(node: NodePlan): Machine | undefined {
  const secretsOf = () => secretsOfNode(plan, node.name, render);
  switch (node.spec.provider) {
    case "aws": {
      const net = network!;
      const placementGroup = placementGroupOfNode(layout, node.name);
      const fixedIp = stageReplicas(plan).some((r) => r.nodes.includes(node.name));
      const machine = new AwsGpuNode(
        `node-${node.name}`,
        {
          node,
          amiId: amiId!,
          subnetId: net.subnetId,
          privateIp: fixedIp ? stageIps!.apply((ips) => ips[node.name]!) : undefined,
          securityGroupIds: layout.nodeGroups[node.name]!.map((g) => net.securityGroupIds[g]!),
          placementGroup: placementGroup ? net.placementGroups[placementGroup] : undefined,
          privateZoneId: net.privateZoneId,
          userData: rendered[node.name]![USER_DATA_FILE]!.contents,
          secretArns: secretsOf().map((s) => secrets.arns[s.name]!),
          tags,
          replacement: "delete-first",
        },
        { dependsOn: afterReservation },
      );
      return { resource: machine, details: { instanceType: node.instanceType, spot: node.spec.spot, instanceId: machine.instanceId, privateIp: machine.privateIp, publicIp: machine.publicIp } };
    }
    case "ssh": {
      if (node.placements.length === 0) return undefined;
      const host = new SshHost(`node-${node.name}`, {
        node,
        files: rendered[node.name]!,
        secrets: secretsOf().map((s) => ({ name: s.name, path: s.path, value: secrets.values[s.name]! })),
        privateKey: settings.sshPrivateKey,
      });
      return { resource: host, details: { host: node.spec.host } };
    }
    case "docker": {
      const containers = nodeContainers(plan, node);
      const host = new DockerHost(`node-${node.name}`, { node, services: containers.services, files: containers.files, secrets: secrets.values });
      dockerHosts[node.name] = host;
      return { resource: host, details: { host: node.spec.host } };
    }
    default: {
      const unreachable: never = node.spec;
      return unreachable;
    }
  }
}
for (const node of plan.nodes) {
  const machine = placeNode(node);
  if (machine) machines[node.name] = machine;
}

const gatewayHost = plan.gateway.host;
const gateway = new Gateway(
  "gateway",
  {
    plan,
    clientKeys: settings.clientKeys,
    secrets,
    secretIdPrefix,
    placement: network
      ? { kind: "aws", amiId: latestAmiId(GATEWAY_AMI), subnetId: network.subnetId, securityGroupIds: [network.securityGroupIds[GATEWAY_GROUP]!], privateZoneId: network.privateZoneId, instanceType: settings.gatewayInstanceType, tags }
      : { kind: "docker", node: plan.nodes.find((n) => n.name === gatewayHost)!, host: dockerHosts[gatewayHost]! },
  },
  // nginx re-resolves upstream names (templates/nginx/README.md "Reload"), but the first boot
  // finds every node's DNS record in place; and DHCP runs only after the stage range is reserved.
  { dependsOn: [...afterReservation, ...Object.values(machines).map((m) => m.resource)] },
);

const renderedHash = createHash("sha256").update(JSON.stringify(rendered)).digest("hex");
const readiness = new Readiness(
  "readiness",
  {
    plan,
    url: gateway.url,
    connectAddress: gateway.publicIp,
    hint: gatewayOnAws(plan) ? `the gateway admits only gateway.allowedCidrs (${gatewayCidrs.join(", ")}): run pulumi up from inside them` : undefined,
    clientKeys: settings.clientKeys,
    certificatePem: gateway.certificatePem,
    timeoutSeconds: settings.readinessTimeoutSeconds,
    triggers: [renderedHash, gateway.url, ...(gateway.instanceId ? [gateway.instanceId] : []), ...Object.values(machines).flatMap((m) => (m.details.instanceId ? [m.details.instanceId] : []))],
  },
  { dependsOn: [gateway, secrets, ...(network ? [network] : []), ...Object.values(machines).map((m) => m.resource)] },
);

export const gatewayUrl = gateway.url;
/** Where to point gateway.domain's DNS record (the Elastic IP, or the docker host). */
export const gatewayAddress = gateway.publicIp;
export const models = gateway.url.apply((url) => fleetOutputs(plan, url).models);
export const nodes = pulumi.output(
  Object.fromEntries(plan.nodes.map((n) => [n.name, { provider: n.provider, address: n.address, gpus: n.gpus, ...(machines[n.name]?.details ?? {}) }])),
);
export const costPerHourUSD = plan.totals.costPerHourUSD;
export const clientKeys = pulumi.secret(settings.clientKeys);
export const ready = readiness.report;
