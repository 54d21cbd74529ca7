/**
 * planFleet: FleetSpec → FleetPlan. Pure. Every model replica is planned against the memory the
 * replicas before it left on its nodes; every problem is collected and reported at once.
 */
import { FleetSpecError, type SpecIssue } from "../spec/errors";
import type { ExternalModelSpec, FleetSpec, ServedModelSpec } from "../spec/schema";
import { GiB, checkpointBytes, round } from "./arch";
import { resolveNodes, type ResolvedNode } from "./nodes";
import { resolveModel } from "./replica";
import { planVllmReplica } from "./vllm";
import { planOffloadReplica } from "./offload";
import type { ExternalModelPlan, FleetPlan, ModelPlan, NodePlan, ReplicaPlan, ServedModelPlan } from "./types";

/** Ollama serves every model of a node from one server on its default port (ollama.json OLLAMA_HOST). */
export const OLLAMA_PORT = 11434;
/** Root disk: OS and drivers (Deep Learning AMI), engine images, plus the weights cache. */
const BASE_DISK_GIB = 100;

function display(m: ServedModelSpec | ExternalModelSpec) {
  return { name: m.display?.name ?? m.id, description: m.display?.description, tags: m.display?.tags ?? [], capabilities: m.display?.capabilities ?? [] };
}

export function planFleet(spec: FleetSpec): FleetPlan {
  const issues: SpecIssue[] = [];
  const nodes = resolveNodes(spec, issues);
  const nodeIndex = (name: string) => spec.nodes.findIndex((n) => n.name === name);
  const placements = new Map<string, NodePlan["placements"]>([...nodes.keys()].map((n) => [n, []]));
  const weightsOnNode = new Map<string, number>();
  const tiers = spec.fallbacks ?? {};

  const models: ModelPlan[] = spec.models.map((m, i): ModelPlan | null => {
    const path = `models[${i}]`;
    if (m.engine === "external") {
      const external: ExternalModelPlan = {
        id: m.id, engine: "external", aliases: m.aliases ?? [], url: m.url, upstreamModel: m.upstreamModel, apiKeySecret: m.apiKeySecret,
        contextLength: m.contextLength ?? null, maxOutputTokens: m.maxOutputTokens ?? null, sampling: m.sampling ?? {}, systemPrompt: m.systemPrompt,
        display: display(m), replicas: [], tiers: tiers[m.id] ?? [], costPerHourUSD: 0, spec: m,
      };
      return external;
    }
    // Replicas naming unknown nodes were reported by spec validation; nothing more to plan for them.
    if (m.replicas.some((r) => r.nodes.some((n) => !nodes.has(n)))) return null;
    const resolved = resolveModel(m, path, issues);
    if (!resolved) return null;
    const replicas = m.replicas.map((replica, j) => {
      const input = { ...resolved, model: m, path: `${path}.replicas[${j}]`, modelPath: path, replica, index: j, nodes, nodeIndex, issues };
      const engine = m.engine;
      switch (engine) {
        case "vllm":
          return planVllmReplica(input);
        case "llamacpp":
        case "ollama":
          return planOffloadReplica(input, engine);
        default: {
          const unreachable: never = engine;
          return unreachable;
        }
      }
    });
    if (replicas.some((r) => r === null)) return null;
    const planned = replicas as ReplicaPlan[];
    const downloadGiB = checkpointBytes(resolved.arch, resolved.weights) / GiB;
    for (const r of planned) {
      const first = nodes.get(r.nodes[0]!)!;
      r.endpoint.port = m.engine === "ollama" ? OLLAMA_PORT : first.nextPort++;
      r.stages.forEach((st, s) => {
        placements.get(st.node)!.push({ model: m.id, engine: m.engine, replica: r.index, stage: s, port: r.endpoint.port, gpus: st.gpus });
      });
      for (const n of new Set(r.nodes)) weightsOnNode.set(n, (weightsOnNode.get(n) ?? 0) + downloadGiB);
    }
    const contextLength = Math.min(...planned.map((r) => r.contextLength));
    if (m.maxOutputTokens !== undefined && m.maxOutputTokens >= contextLength) {
      issues.push({ path: `${path}.maxOutputTokens`, message: `${m.maxOutputTokens} leaves no room for a prompt in a ${contextLength}-token context`, fix: `use less than ${contextLength}` });
    }
    const served: ServedModelPlan = {
      id: m.id, engine: m.engine, aliases: m.aliases ?? [], source: m.source, archSource: resolved.archSource, arch: resolved.arch,
      quantization: resolved.quantization, kvCacheDtype: resolved.kvCacheDtype, contextLength,
      maxOutputTokens: m.maxOutputTokens ?? contextLength, sampling: m.sampling ?? {}, systemPrompt: m.systemPrompt, display: display(m),
      replicas: planned, tiers: tiers[m.id] ?? [], costPerHourUSD: 0,
    };
    return served;
  }).filter((m): m is ModelPlan => m !== null);

  if (issues.length > 0) throw new FleetSpecError(issues, `fleet "${spec.name}"`);

  const nodePlans = [...nodes.values()].map((n): NodePlan => ({
    name: n.spec.name,
    provider: n.spec.provider,
    spec: n.spec,
    gpus: n.gpus.map((g) => g.id),
    address: n.address,
    instanceType: n.instanceType,
    cpu: n.cpu,
    costPerHourUSD: n.costPerHourUSD,
    placements: placements.get(n.spec.name)!,
    diskGiB: n.spec.provider === "aws" && n.spec.rootVolumeGiB ? n.spec.rootVolumeGiB : Math.ceil(BASE_DISK_GIB + 1.2 * (weightsOnNode.get(n.spec.name) ?? 0)),
  }));
  attributeCosts(models, nodePlans, nodes);

  return {
    name: spec.name,
    region: spec.region ?? "us-east-1",
    spec,
    models,
    nodes: nodePlans,
    gateway: spec.gateway,
    totals: {
      costPerHourUSD: round(nodePlans.reduce((s, n) => s + n.costPerHourUSD, 0), 4),
      gpus: nodePlans.reduce((s, n) => s + n.gpus.length, 0),
      models: models.length,
      replicas: models.reduce((s, m) => s + m.replicas.length, 0),
      nodes: nodePlans.length,
    },
  };
}

/** A node's hourly cost goes to the replicas on it, in proportion to the GPUs each uses (equally on CPU-only nodes). */
function attributeCosts(models: ModelPlan[], nodePlans: NodePlan[], nodes: Map<string, ResolvedNode>): void {
  const share = (node: NodePlan, p: NodePlan["placements"][number]) => {
    const gpuCount = nodes.get(node.name)!.gpus.length;
    if (gpuCount === 0 || p.gpus.length === 0) return node.costPerHourUSD / Math.max(1, node.placements.length);
    const used = node.placements.reduce((s, q) => s + q.gpus.length, 0);
    return (node.costPerHourUSD * p.gpus.length) / Math.max(gpuCount, used);
  };
  const byReplica = new Map<string, number>();
  for (const node of nodePlans) {
    for (const p of node.placements) {
      const key = `${p.model}#${p.replica}`;
      byReplica.set(key, (byReplica.get(key) ?? 0) + share(node, p));
    }
  }
  for (const m of models) {
    for (const r of m.replicas) r.costPerHourUSD = round(byReplica.get(`${m.id}#${r.index}`) ?? 0, 4);
    m.costPerHourUSD = round(m.replicas.reduce((s, r) => s + r.costPerHourUSD, 0), 4);
  }
}
