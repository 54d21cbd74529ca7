/**
 * Where AWS machines go and who may talk to whom, decided from the plan before any resource
 * exists: the availability zone, the security groups and their ingress rules, and the cluster
 * placement groups of multi-node replicas. Pure; network.ts only turns this into resources.
 */
import type { FleetPlan } from "../plan/types";
import { clusterPorts, type PortRule } from "../render";
import { ENGINE_UPSTREAM } from "../render/engines";
import { DEFAULT_METRICS_PORT } from "../render/usage/gateway";
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
  protocol: "tcp" | "icmp";
  /** TCP: first port. ICMP: the type (as EC2 security group rules take it). */
  fromPort: number;
  /** TCP: last port. ICMP: the code. */
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
  /** Multi-node replica key → its AWS nodes (one Ray/NCCL security group each). */
  clusters: Record<string, string[]>;
  /**
   * Cluster placement group key → its nodes: the nodes of one replica that share an instance
   * type, two or more. AWS: "Use the same instance type for all instances in the placement group
   * ... if you try to launch more than one instance type in the placement group, you increase your
   * chances of getting an insufficient capacity error" (EC2 User Guide, placement strategies).
   */
  placementGroups: Record<string, string[]>;
}

export const GATEWAY_GROUP = "gateway";

/**
 * ICMP "destination unreachable: fragmentation needed and DF set" (type 3, code 4): without it a
 * router on the path with a smaller MTU cannot tell the gateway to send smaller packets, and
 * large responses stall (AWS VPC User Guide, "Path MTU Discovery"). The routers that send it are
 * anywhere on the path, not inside gateway.allowedCidrs, so it is admitted from anywhere — this
 * one ICMP message only (Linux clamps the MTU it accepts at min_pmtu, 552).
 */
export const PATH_MTU_ICMP = { type: 3, code: 4, source: "0.0.0.0/0" } as const;
export const nodeGroup = (node: string) => `node-${node}`;

/** A multi-node replica's key: short, stable and DNS-safe. */
export function clusterKey(modelId: string, replica: number): string {
  const slug = modelId.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return `cluster-${slug}-r${replica}`;
}

/**
 * Gateway: HTTPS from the allowed CIDRs only. Engines: each node's engine ports only from the
 * gateway's group, and those of engines with metrics also from gateway.metricsCidrs. Ray/NCCL: only between the nodes of one replica (its own group, self-referenced).
 * No SSH anywhere (SSM Session Manager reaches the nodes).
 */
export function networkLayout(plan: FleetPlan, gatewayCidrs: string[], ports: PortRule[] = clusterPorts()): NetworkLayout {
  const aws = new Set(plan.nodes.filter((n) => n.provider === "aws").map((n) => n.name));
  const groups: Record<string, string> = { [GATEWAY_GROUP]: `llm-fleet ${plan.name}: gateway (${Object.values(GATEWAY_PORTS).join(", ")} from allowed CIDRs)` };
  const rules: IngressRule[] = [];
  const nodeGroups: Record<string, string[]> = {};
  const clusters: Record<string, string[]> = {};
  const placementGroups: Record<string, string[]> = {};
  const typeOf = new Map(plan.nodes.map((n) => [n.name, n.instanceType ?? ""]));

  for (const cidr of gatewayCidrs) {
    for (const [name, port] of Object.entries(GATEWAY_PORTS)) {
      rules.push({ group: GATEWAY_GROUP, protocol: "tcp", fromPort: port, toPort: port, source: { cidr }, description: `gateway ${name} from ${cidr}` });
    }
  }
  // The usage service's /metrics listener (HOST_USAGE_OPTIONS), only with metering on and only
  // from gateway.metricsCidrs: never from allowedCidrs, never from anywhere by default.
  if (plan.gateway?.metering) {
    for (const cidr of plan.gateway.metricsCidrs) {
      rules.push({ group: GATEWAY_GROUP, protocol: "tcp", fromPort: DEFAULT_METRICS_PORT, toPort: DEFAULT_METRICS_PORT, source: { cidr }, description: `gateway metrics from ${cidr}` });
    }
  }
  if (gatewayCidrs.length > 0) {
    rules.push({
      group: GATEWAY_GROUP,
      protocol: "icmp",
      fromPort: PATH_MTU_ICMP.type,
      toPort: PATH_MTU_ICMP.code,
      source: { cidr: PATH_MTU_ICMP.source },
      description: "path MTU discovery: ICMP fragmentation needed",
    });
  }

  for (const node of plan.nodes) {
    if (!aws.has(node.name)) continue;
    const group = nodeGroup(node.name);
    groups[group] = `llm-fleet ${plan.name}: engines of ${node.name} (from the gateway only)`;
    nodeGroups[node.name] = [group];
    // The engine listens on the replica's first stage; later stages only talk Ray/NCCL.
    const enginePorts = [...new Set(node.placements.filter((p) => p.stage === 0).map((p) => p.port))].sort((a, b) => a - b);
    for (const port of enginePorts) {
      rules.push({ group, protocol: "tcp", fromPort: port, toPort: port, source: { group: GATEWAY_GROUP }, description: `engine port ${port} from the gateway` });
    }
    // An engine with metrics serves /metrics on its own port (monitoring/prometheus.yml scrapes it
    // there): open to gateway.metricsCidrs, so a Prometheus there reaches it. Its API still needs the
    // engines' key; Ollama (no metrics) stays reachable from the gateway only.
    const metricsPorts = [...new Set(node.placements.filter((p) => p.stage === 0 && ENGINE_UPSTREAM[p.engine].metrics !== null).map((p) => p.port))].sort((a, b) => a - b);
    for (const cidr of plan.gateway?.metricsCidrs ?? []) {
      for (const port of metricsPorts) {
        rules.push({ group, protocol: "tcp", fromPort: port, toPort: port, source: { cidr }, description: `engine metrics (port ${port}) from ${cidr}` });
      }
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
      for (const type of [...new Set(nodes.map((n) => typeOf.get(n)!))].sort()) {
        const same = nodes.filter((n) => typeOf.get(n) === type);
        if (same.length >= 2) placementGroups[`${key}-${type.replace(/[^a-z0-9]+/g, "-")}`] = same;
      }
      for (const p of ports) {
        rules.push({ group: key, protocol: "tcp", fromPort: p.from, toPort: p.to, source: { group: key }, description: p.purpose });
      }
    }
  }
  return { groups, rules, nodeGroups, clusters, placementGroups };
}

/** The multi-node replica a node is a stage of, if any. */
export function clusterOfNode(layout: NetworkLayout, node: string): string | undefined {
  return Object.entries(layout.clusters).find(([, nodes]) => nodes.includes(node))?.[0];
}

/** The cluster placement group of a node: shared only with same-type nodes of its replica. */
export function placementGroupOfNode(layout: NetworkLayout, node: string): string | undefined {
  return Object.entries(layout.placementGroups).find(([, nodes]) => nodes.includes(node))?.[0];
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

/**
 * The zone a stack keeps once it has one (network.ts holds it in a Stash): its subnet and every
 * instance live there, and moving them means replacing all of them. A node type the zone does
 * not offer is refused, naming where it is offered and how to move on purpose.
 */
export function keptZone(zone: string, offerings: { zone: string; instanceType: string }[], instanceTypes: string[]): string {
  const types = [...new Set(instanceTypes)].sort();
  const missing = types.filter((t) => !offerings.some((o) => o.zone === zone && o.instanceType === t));
  if (missing.length === 0) return zone;
  const elsewhere = [...new Set(offerings.map((o) => o.zone))].sort().find((z) => types.every((t) => offerings.some((o) => o.zone === z && o.instanceType === t)));
  throw new Error(
    `the fleet's availability zone ${zone} (kept since the stack's first update: its subnet and instances are there) does not offer ${missing.join(", ")}; ${whereOffered(missing, offerings)}. ` +
      `Use an instance type offered in ${zone}` +
      (elsewhere ? `, or move the whole fleet on purpose with pulumi config set llm-fleet:availabilityZone ${elsewhere} (replaces the subnet and every instance)` : ""),
  );
}

function whereOffered(types: string[], offerings: { zone: string; instanceType: string }[]): string {
  return types
    .map((t) => {
      const zones = offerings.filter((o) => o.instanceType === t).map((o) => o.zone).sort();
      return `${t}: ${zones.length > 0 ? zones.join(", ") : "nowhere in this region"}`;
    })
    .join("; ");
}
