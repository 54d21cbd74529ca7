/**
 * Fixed private addresses for the AWS nodes of multi-node vLLM replicas. vLLM ranks the Ray
 * driver's node first and the other nodes in the *string* order of their IPs
 * (vllm/v1/executor/ray_executor.py sort_by_driver_then_worker_ip), and the layer split is per
 * stage: the stage nodes' addresses must sort in stage order, or the head script refuses to
 * start (templates/ray/head.sh.hbs). Random DHCP addresses would make that a coin toss, so
 * these nodes get consecutive addresses whose last octet has three digits (100–249) inside one
 * /24 block: string order is then numeric order. Pure.
 */
import type { FleetPlan } from "../plan/types";

const FIRST_HOST = 100;
const LAST_HOST = 249;

const toInt = (ip: string) => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");

/** node name → private IP, for every AWS node of a multi-node replica, in stage order. */
export function stageAddresses(plan: FleetPlan, subnetCidr: string): Record<string, string> {
  const [base, bits] = subnetCidr.split("/");
  const prefix = Number(bits);
  if (!base || !Number.isInteger(prefix) || prefix > 24) {
    throw new Error(`subnet ${subnetCidr} is smaller than a /24: multi-node replicas need addresses .${FIRST_HOST}-.${LAST_HOST} of a /24 block inside it`);
  }
  const network = toInt(base) - (toInt(base) % 2 ** (32 - prefix));
  const blocks = 2 ** (24 - prefix);
  const aws = new Set(plan.nodes.filter((n) => n.provider === "aws").map((n) => n.name));
  const assigned: Record<string, string> = {};
  let block = 0;
  let host = FIRST_HOST;
  for (const model of plan.models) {
    for (const replica of model.replicas) {
      const nodes = replica.nodes.filter((n) => aws.has(n) && !(n in assigned));
      if (replica.nodes.length < 2 || nodes.length === 0) continue;
      if (host + nodes.length - 1 > LAST_HOST) {
        block += 1;
        host = FIRST_HOST;
      }
      if (block >= blocks || nodes.length > LAST_HOST - FIRST_HOST + 1) {
        throw new Error(`subnet ${subnetCidr} has no room left for the stage addresses of ${model.id} replica ${replica.index}`);
      }
      for (const node of nodes) assigned[node] = toIp(network + block * 256 + host++);
    }
  }
  return assigned;
}
