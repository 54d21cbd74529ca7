/**
 * Fixed private addresses for the AWS nodes of multi-node vLLM replicas. vLLM ranks the Ray
 * driver's node first and the other nodes in the *string* order of their IPs
 * (vllm/v1/executor/ray_executor.py sort_by_driver_then_worker_ip), and the layer split is per
 * stage: the stage nodes' addresses must sort in stage order, or the head script refuses to
 * start (templates/ray/head.sh.hbs). Random DHCP addresses would make that a coin toss.
 *
 * The addresses come from one range reserved in the subnet (network.ts makes it an explicit
 * SubnetCidrReservation, so DHCP never hands them out): the upper half of the subnet's first /24
 * (a /26 when the subnet is a /24, away from its broadcast address), where every last octet has
 * three digits and string order is numeric order. Each replica takes a block of consecutive
 * addresses at a slot derived from a hash of its key (model id + replica index), not from spec
 * order, so adding or removing another model moves nothing. On a collision the replica that
 * appeared first in the stack (`seniority`, kept in state by the program) keeps its block and the
 * newcomer probes onward: inserting a replica never moves an existing one. Pure.
 */
import type { FleetPlan } from "../plan/types";
import { clusterKey } from "./placement";

const toInt = (ip: string) => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");

/** The reserved range of a subnet: a CIDR, its first address and how many addresses it holds. */
export interface StageRange {
  cidr: string;
  first: number;
  size: number;
}

/** Where the stage addresses of a subnet live. Refuses subnets smaller than a /24. */
export function stageRange(subnetCidr: string): StageRange {
  const [base, bits] = subnetCidr.split("/");
  const prefix = Number(bits);
  if (!base || !/^\d{1,3}(\.\d{1,3}){3}$/.test(base) || !Number.isInteger(prefix) || prefix < 0 || prefix > 24) {
    throw new Error(`subnet ${subnetCidr} is smaller than a /24: multi-node replicas need the upper half of a /24 block inside it for their fixed addresses; use a subnet of /24 or larger`);
  }
  const network = toInt(base) - (toInt(base) % 2 ** (32 - prefix));
  // A /24 subnet's last address (.255) is AWS-reserved: stop at .191 there.
  const size = prefix === 24 ? 64 : 128;
  const first = network + 128;
  return { cidr: `${toIp(first)}/${prefix === 24 ? 26 : 25}`, first, size };
}

/** Every address of the range, in order (for lookups of addresses already in use). */
export function rangeAddresses(range: StageRange): string[] {
  return Array.from({ length: range.size }, (_, i) => toIp(range.first + i));
}

/** FNV-1a, 32 bit: a stable, well-spread slot for a replica key. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(s, "utf8")) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

/** A multi-node replica on AWS: its key and its nodes in stage order. */
export interface StageReplica {
  key: string;
  nodes: string[];
  where: string;
}

export function stageReplicas(plan: FleetPlan): StageReplica[] {
  const aws = new Set(plan.nodes.filter((n) => n.provider === "aws").map((n) => n.name));
  return plan.models.flatMap((m) =>
    m.replicas
      .filter((r) => new Set(r.nodes).size > 1 && r.nodes.every((n) => aws.has(n)))
      .map((r) => ({ key: clusterKey(m.id, r.index), nodes: [...new Set(r.nodes)], where: `${m.id} replica ${r.index}` })),
  );
}

/**
 * node name → private IP, for every AWS node of a multi-node replica. `seniority` maps a replica
 * key to when the stack first had it (any string that sorts by age); unknown keys are newest.
 */
export function stageAddresses(plan: FleetPlan, subnetCidr: string, seniority: Record<string, string> = {}): Record<string, string> {
  const replicas = stageReplicas(plan);
  if (replicas.length === 0) return {};
  const range = stageRange(subnetCidr);
  const taken = new Array<boolean>(range.size).fill(false);
  const assigned: Record<string, number> = {};
  const newest = "\uffff";
  const ordered = [...replicas].sort((a, b) => {
    const [sa, sb] = [seniority[a.key] ?? newest, seniority[b.key] ?? newest];
    return sa < sb ? -1 : sa > sb ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  for (const replica of ordered) {
    // A node already placed by another replica keeps its address.
    const nodes = replica.nodes.filter((n) => !(n in assigned));
    if (nodes.length === 0) continue;
    const starts = range.size - nodes.length + 1;
    const preferred = fnv1a(replica.key) % Math.max(1, starts);
    let start = -1;
    for (let probe = 0; probe < starts && start < 0; probe++) {
      const s = (preferred + probe) % starts;
      if (nodes.every((_, i) => !taken[s + i])) start = s;
    }
    if (start < 0) {
      throw new Error(`the stage range ${range.cidr} of subnet ${subnetCidr} has no ${nodes.length} consecutive free addresses left for ${replica.where}; use fewer multi-node replicas or a larger subnet`);
    }
    nodes.forEach((n, i) => {
      taken[start + i] = true;
      assigned[n] = range.first + start + i;
    });
  }
  // A node shared by two replicas can break a replica's order: say so rather than let Ray refuse at boot.
  for (const replica of replicas) {
    const ips = replica.nodes.map((n) => assigned[n]!);
    if (ips.some((ip, i) => i > 0 && ip <= ips[i - 1]!)) {
      throw new Error(`${replica.where}: its nodes ${replica.nodes.join(", ")} share nodes with another multi-node replica in another stage order, so no addresses sort in both orders; give it its own nodes`);
    }
  }
  return Object.fromEntries(Object.entries(assigned).map(([n, ip]) => [n, toIp(ip)]));
}
