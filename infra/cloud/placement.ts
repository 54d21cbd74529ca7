/**
 * Where AWS machines go and who may talk to whom, decided from the plan before any resource
 * exists: the availability zone, the security groups and their ingress rules, and the cluster
 * placement groups of multi-node replicas. Pure; network.ts only turns this into resources.
 */
import type { FleetPlan } from "../plan/types";
import { clusterPorts, type PortRule } from "../render";
import { GATEWAY_PORT } from "./gatewayHost";

/**
 * Gateway listeners reachable from gateway.allowedCidrs: HTTPS only, the one port nginx listens
 * on (renderGateway has a single listener; port 80 would be open with nothing behind it).
 */
export const GATEWAY_PORTS = { https: GATEWAY_PORT } as const;

export type RuleSource = { cidr: string } | { group: string };

export interface IngressRule {
  /** Security group the rule belongs to (a key of NetworkLayout.groups). */
  group: string;
  fromPort: number;
  toPort: number;
  source: RuleSource;
  description: string;
}

export interface NetworkLayout {
  /** Security group keys with what each is for. */
  groups: Record<string, string>;
  rules: IngressRule[];
  /** AWS node → its security group keys. */
  nodeGroups: Record<string, string[]>;
  /** Multi-node replica key → its AWS nodes (one cluster placement group each). */
  clusters: Record<string, string[]>;
}

export const GATEWAY_GROUP = "gateway";
export const nodeGroup = (node: string) => `node-${node}`;

/** A multi-node replica's key: short, stable and DNS-safe. */
export function clusterKey(modelId: string, replica: number): string {
  const slug = modelId.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return `cluster-${slug}-r${replica}`;
}

/**
 * Gateway: HTTPS from the allowed CIDRs only. Engines: each node's engine ports only from the
 * gateway's group. Ray/NCCL: only between the nodes of one replica (its own group, self-referenced).
 * No SSH anywhere (SSM Session Manager reaches the nodes).
 */
export function networkLayout(plan: FleetPlan, gatewayCidrs: string[], ports: PortRule[] = clusterPorts()): NetworkLayout {
  const aws = new Set(plan.nodes.filter((n) => n.provider === "aws").map((n) => n.name));
  const groups: Record<string, string> = { [GATEWAY_GROUP]: `llm-fleet ${plan.name}: gateway (${Object.values(GATEWAY_PORTS).join(", ")} from allowed CIDRs)` };
  const rules: IngressRule[] = [];
  const nodeGroups: Record<string, string[]> = {};
  const clusters: Record<string, string[]> = {};

  for (const cidr of gatewayCidrs) {
    for (const [name, port] of Object.entries(GATEWAY_PORTS)) {
      rules.push({ group: GATEWAY_GROUP, fromPort: port, toPort: port, source: { cidr }, description: `gateway ${name} from ${cidr}` });
    }
  }

  for (const node of plan.nodes) {
    if (!aws.has(node.name)) continue;
    const group = nodeGroup(node.name);
    groups[group] = `llm-fleet ${plan.name}: engines of ${node.name} (from the gateway only)`;
    nodeGroups[node.name] = [group];
    // The engine listens on the replica's first stage; later stages only talk Ray/NCCL.
    const enginePorts = [...new Set(node.placements.filter((p) => p.stage === 0).map((p) => p.port))].sort((a, b) => a - b);
    for (const port of enginePorts) {
      rules.push({ group, fromPort: port, toPort: port, source: { group: GATEWAY_GROUP }, description: `engine port ${port} from the gateway` });
    }
  }

  for (const model of plan.models) {
    if (model.engine === "external") continue;
    for (const replica of model.replicas) {
      const nodes = [...new Set(replica.nodes)];
      if (nodes.length < 2) continue;
      // A pipeline is all on AWS or all on own hosts (spec validation refuses a mix).
      if (!aws.has(nodes[0]!)) continue;
      const key = clusterKey(model.id, replica.index);
      groups[key] = `llm-fleet ${plan.name}: Ray/NCCL inside ${model.id} replica ${replica.index}`;
      clusters[key] = nodes;
      for (const n of nodes) nodeGroups[n]!.push(key);
      for (const p of ports) {
        rules.push({ group: key, fromPort: p.from, toPort: p.to, source: { group: key }, description: p.purpose });
      }
    }
  }
  return { groups, rules, nodeGroups, clusters };
}

/** The cluster placement group of a node, if it is a stage of a multi-node replica. */
export function clusterOfNode(layout: NetworkLayout, node: string): string | undefined {
  return Object.entries(layout.clusters).find(([, nodes]) => nodes.includes(node))?.[0];
}

/**
 * The zone for every AWS machine: one zone, because a cluster placement group cannot span zones
 * and cross-zone traffic is billed. The pinned zone if given, else the first (by name) that
 * offers every instance type the fleet needs; an error names what is offered where otherwise.
 */
export function chooseZone(zones: string[], offerings: { zone: string; instanceType: string }[], instanceTypes: string[], pinned?: string): string {
  const types = [...new Set(instanceTypes)].sort();
  const offersAll = (zone: string) => types.every((t) => offerings.some((o) => o.zone === zone && o.instanceType === t));
  if (pinned !== undefined) {
    if (offersAll(pinned)) return pinned;
    const missing = types.filter((t) => !offerings.some((o) => o.zone === pinned && o.instanceType === t));
    throw new Error(`llm-fleet:availabilityZone ${pinned} does not offer ${missing.join(", ")}; ${whereOffered(types, offerings)}`);
  }
  const zone = [...zones].sort().find(offersAll);
  if (zone) return zone;
  throw new Error(`no availability zone offers every instance type of the fleet (${types.join(", ")}); ${whereOffered(types, offerings)}. Use types offered in one zone`);
}

function whereOffered(types: string[], offerings: { zone: string; instanceType: string }[]): string {
  return types
    .map((t) => {
      const zones = offerings.filter((o) => o.instanceType === t).map((o) => o.zone).sort();
      return `${t}: ${zones.length > 0 ? zones.join(", ") : "nowhere in this region"}`;
    })
    .join("; ");
}
