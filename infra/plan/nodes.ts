/**
 * Nodes as the planner sees them: GPUs from the catalog, CPU and RAM, cost, the address the
 * gateway reaches them at, and what each GPU and the RAM hold before any replica (read-only).
 */
import { ASSUMED_CPU_BANDWIDTH_GBS } from "../catalog/cpu";
import { findGpu, GPU_NAMES } from "../catalog/gpus";
import { findInstanceType } from "../catalog/instances";
import type { Gpu } from "../catalog/types";
import type { FleetSpec, NodeSpec } from "../spec/schema";
import type { SpecIssue } from "../spec/errors";
import { MiB } from "./arch";

export interface ResolvedNode {
  spec: NodeSpec;
  gpus: Gpu[];
  /** null: a GPU host whose CPU side the spec does not describe (fine while nothing runs on its CPU). */
  cpu: CpuPlan | null;
  costPerHourUSD: number;
  instanceType?: string;
  address: string;
  /** Memory per GPU index not held by other programs (bytes): nvidia-smi total − gpuMemoryInUseMiB (llama.cpp/Ollama fits). */
  gpuBytes: number[];
  /** The same as CUDA (and vLLM) counts it: CUDA total − gpuMemoryInUseMiB. */
  cudaGpuBytes: number[];
  /** RAM left for engines after the OS (bytes). */
  ramBytes: number;
}

/**
 * The GPUs a replica takes on one of its nodes: replica.gpus by index, unset: every GPU of the
 * node. An index the node lacks, or one listed twice, is pushed as an issue at `${path}.gpus` and
 * left out (ok: false), so a caller may stop or go on collecting further problems.
 */
export function replicaGpus(node: ResolvedNode, indices: number[] | undefined, path: string, issues: SpecIssue[]): { gpus: { index: number; gpu: Gpu }[]; ok: boolean } {
  const wanted = indices ?? node.gpus.map((_, k) => k);
  const before = issues.length;
  const bad = wanted.filter((k) => k >= node.gpus.length);
  if (bad.length) issues.push({ path: `${path}.gpus`, message: `node ${node.spec.name} has ${node.gpus.length} GPU(s); index ${bad.join(", ")} does not exist`, fix: `use indices 0..${node.gpus.length - 1}` });
  const twice = [...new Set(wanted.filter((k, i) => wanted.indexOf(k) !== i))];
  if (twice.length) issues.push({ path: `${path}.gpus`, message: `GPU index ${twice.join(", ")} is given twice`, fix: "list each GPU once, e.g. [0, 1]" });
  const gpus = [...new Set(wanted)].filter((k) => k < node.gpus.length).map((k) => ({ index: k, gpu: node.gpus[k]! }));
  return { gpus, ok: issues.length === before };
}

/** First port engines listen on; each further engine on a node takes the next. */
export const FIRST_ENGINE_PORT = 8000;

/** The CPU side of a node; bandwidthAssumed: the spec gave no bandwidth, ASSUMED_CPU_BANDWIDTH_GBS stands in. */
export interface CpuPlan {
  cores: number;
  memoryGiB: number;
  bandwidthGBs: number;
  bandwidthAssumed: boolean;
}

/** Memory kept for the OS and system services on every machine (bytes). */
export const OS_RESERVED_RAM_BYTES = 2 * 1024 * MiB;

/** Where the gateway reaches a node's engines. AWS nodes get a record in the fleet's private DNS zone. */
export function nodeAddress(fleet: string, node: NodeSpec): string {
  switch (node.provider) {
    case "aws":
      return `${node.name}.${privateZoneName(fleet)}`;
    case "ssh":
    case "docker":
      return node.address;
    default: {
      const unreachable: never = node;
      return unreachable;
    }
  }
}

/**
 * The AWS gateway instance's name in the fleet's private zone (its own record, like a node's; no
 * node may be called "gateway": rules/nodeNameNotReserved.ts). Prometheus scrapes its /metrics there.
 */
export function gatewayPrivateName(fleet: string): string {
  return `gateway.${privateZoneName(fleet)}`;
}

/** The private Route 53 zone that names the fleet's AWS nodes. */
export function privateZoneName(fleet: string): string {
  return `${fleet}.fleet.internal`;
}

export function resolveNodes(spec: FleetSpec, issues: SpecIssue[]): Map<string, ResolvedNode> {
  const nodes = new Map<string, ResolvedNode>();
  spec.nodes.forEach((node, i) => {
    const path = `nodes[${i}]`;
    let gpus: Gpu[] = [];
    let cpu: ResolvedNode["cpu"] = null;
    let costPerHourUSD = 0;
    let instanceType: string | undefined;
    if (node.provider === "aws") {
      const t = findInstanceType(node.instanceType);
      if (!t) {
        issues.push({
          path: `${path}.instanceType`,
          message: `"${node.instanceType}" is not a GPU instance type the catalog knows`,
          fix: `use a g5, g6, g6e, p4d, p4de or p5 type, e.g. g6e.xlarge (L40S), g5.xlarge (A10G), g6.xlarge (L4)`,
        });
        return;
      }
      const gpu = findGpu(t.gpu);
      gpus = gpu ? Array.from({ length: t.gpuCount }, () => gpu) : [];
      cpu = { cores: t.vcpu, memoryGiB: t.memoryGiB, bandwidthGBs: ASSUMED_CPU_BANDWIDTH_GBS.aws, bandwidthAssumed: true };
      costPerHourUSD = t.onDemandUSDPerHour;
      instanceType = t.instanceType;
    } else {
      node.gpus.forEach((name, k) => {
        const gpu = findGpu(name);
        if (gpu) gpus.push(gpu);
        else issues.push({ path: `${path}.gpus[${k}]`, message: `unknown GPU "${name}"`, fix: `use one of: ${GPU_NAMES.join(", ")}` });
      });
      costPerHourUSD = node.costPerHourUSD;
      if (!node.cpu && gpus.length === 0) {
        issues.push({ path: `${path}.cpu`, message: "a CPU-only host needs its cores and memory", fix: "add cpu: { cores, memoryGiB, bandwidthGBs } (bandwidth may be left out: the plan then assumes one and says so)" });
      }
    }
    if (node.cpu) {
      const given = node.cpu.bandwidthGBs;
      cpu = { cores: node.cpu.cores, memoryGiB: node.cpu.memoryGiB, bandwidthGBs: given ?? ASSUMED_CPU_BANDWIDTH_GBS[node.provider], bandwidthAssumed: given === undefined };
    }
    const inUse = (node.provider === "aws" ? 0 : node.gpuMemoryInUseMiB) * MiB;
    nodes.set(node.name, {
      spec: node,
      gpus,
      cpu,
      costPerHourUSD,
      instanceType,
      address: nodeAddress(spec.name, node),
      gpuBytes: gpus.map((g) => g.memoryMiB * MiB - inUse),
      cudaGpuBytes: gpus.map((g) => g.cudaTotalBytes - inUse),
      ramBytes: cpu ? cpu.memoryGiB * 1024 * MiB - OS_RESERVED_RAM_BYTES : Infinity,
    });
  });
  return nodes;
}
