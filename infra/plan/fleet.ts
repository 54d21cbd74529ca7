/**
 * planFleet: FleetSpec → FleetPlan. Pure. Replicas are placed by placement.ts without regard to
 * the spec's model order; ports and cost shares are given once every replica is placed. Every
 * problem is collected and reported at once.
 */
import { FleetSpecError, type SpecIssue } from "../spec/errors";
import { fallbackModel, type FleetSpec, type ServedModelSpec } from "../spec/schema";
import { GiB, checkpointBytes, round } from "./arch";
import { FIRST_ENGINE_PORT, resolveNodes, type ResolvedNode } from "./nodes";
import { resolveModel } from "./replica";
import { placeReplicas, taskKey, type Placed, type ReplicaTask } from "./placement";
import type { ExternalModelPlan, FleetPlan, ModelPlan, NodePlan, ReplicaPlan, ServedModelPlan } from "./types";

/** Ollama serves every model of a node from one server on its default port (ollama.json OLLAMA_HOST). */
export const OLLAMA_PORT = 11434;
/** Root disk: OS and drivers (Deep Learning AMI), engine images, plus the weights cache. */
const BASE_DISK_GIB = 100;

/** Ports per node: engines other than Ollama take 8000, 8001, … in the fixed placement order. */
function assignPorts(placed: Placed[]): Map<string, number> {
  const ports = new Map<string, number>();
  const next = new Map<string, number>();
  for (const p of [...placed].sort((a, b) => (taskKey(a.task) < taskKey(b.task) ? -1 : 1))) {
    if (p.task.model.engine === "ollama") {
      ports.set(taskKey(p.task), OLLAMA_PORT);
      continue;
    }
    const port = next.get(p.draft.endpointNode) ?? FIRST_ENGINE_PORT;
    ports.set(taskKey(p.task), port);
    next.set(p.draft.endpointNode, port + 1);
  }
  return ports;
}

export function planFleet(spec: FleetSpec): FleetPlan {
  const issues: SpecIssue[] = [];
  const nodes = resolveNodes(spec, issues);
  const nodeIndex = (name: string) => spec.nodes.findIndex((n) => n.name === name);
  // Maps, not records: a model may be named like an Object.prototype member (valueOf, toString).
  const tiers = new Map(Object.entries(spec.fallbacks).map(([id, list]) => [id, list.map(fallbackModel)]));
  const anyKeyTiers = new Map(Object.entries(spec.fallbacks).map(([id, list]) => [id, list.filter((t) => typeof t !== "string" && t.anyKey).map(fallbackModel)]));

  const tasks: ReplicaTask[] = [];
  const resolvedModels = spec.models.map((m, i) => {
    if (m.engine === "external") return null;
    // Replicas naming unknown nodes were reported by spec validation; nothing more to plan for them.
    if (m.replicas.some((r) => r.nodes.some((n) => !nodes.has(n)))) return null;
    const resolved = resolveModel(m, `models[${i}]`, issues);
    if (resolved) m.replicas.forEach((_, j) => tasks.push({ model: m, modelPath: `models[${i}]`, resolved, index: j }));
    return resolved;
  });
  const placed = placeReplicas(tasks, nodes, nodeIndex, issues);
  const ports = assignPorts([...placed.values()]);
  const placedFor = (m: ServedModelSpec) => m.replicas.map((_, j) => placed.get(taskKey({ model: m, index: j })));

  spec.models.forEach((m, i) => {
    if (m.engine === "external" || !resolvedModels[i]) return;
    const drafts = placedFor(m);
    if (drafts.some((d) => d === undefined)) return;
    const contextLength = Math.min(...drafts.map((d) => d!.draft.contextLength));
    if (m.maxOutputTokens !== undefined && m.maxOutputTokens >= contextLength) {
      issues.push({ path: `models[${i}].maxOutputTokens`, message: `${m.maxOutputTokens} leaves no room for a prompt in a ${contextLength}-token context`, fix: `use less than ${contextLength}` });
    }
  });
  if (issues.length > 0) throw new FleetSpecError(issues, `fleet "${spec.name}"`);

  const all = [...placed.values()].sort((a, b) => (taskKey(a.task) < taskKey(b.task) ? -1 : 1));
  const weightsOnNode = new Map<string, number>();
  for (const p of all) {
    const downloadGiB = checkpointBytes(p.task.resolved.arch, p.task.resolved.weights) / GiB;
    for (const n of new Set(p.draft.nodes)) weightsOnNode.set(n, (weightsOnNode.get(n) ?? 0) + downloadGiB);
  }
  const nodePlans = [...nodes.values()].map((n): NodePlan => ({
    name: n.spec.name,
    provider: n.spec.provider,
    spec: n.spec,
    gpus: n.gpus.map((g) => g.id),
    address: n.address,
    instanceType: n.instanceType,
    cpu: n.cpu,
    costPerHourUSD: n.costPerHourUSD,
    placements: all.flatMap((p) => p.draft.stages.flatMap((st, s) => (st.node === n.spec.name ? [{ model: p.task.model.id, engine: p.task.model.engine, replica: p.draft.index, stage: s, port: ports.get(taskKey(p.task))!, gpus: st.gpus }] : []))),
    diskGiB: n.spec.provider === "aws" && n.spec.rootVolumeGiB ? n.spec.rootVolumeGiB : Math.ceil(BASE_DISK_GIB + 1.2 * (weightsOnNode.get(n.spec.name) ?? 0)),
  }));
  const costs = replicaCosts(nodePlans, nodes);

  const models = spec.models.map((m, i): ModelPlan => {
    if (m.engine === "external") {
      const external: ExternalModelPlan = {
        id: m.id, engine: "external", aliases: m.aliases, url: m.url, upstreamModel: m.upstreamModel, apiKeySecret: m.apiKeySecret,
        contextLength: m.contextLength ?? null, maxOutputTokens: m.maxOutputTokens ?? null, sampling: m.sampling, systemPrompt: m.systemPrompt,
        display: m.display, replicas: [], tiers: tiers.get(m.id) ?? [], anyKeyTiers: anyKeyTiers.get(m.id) ?? [], costPerHourUSD: 0, spec: m,
      };
      return external;
    }
    const resolved = resolvedModels[i]!;
    const replicas = placedFor(m).map((p): ReplicaPlan => {
      const { endpointNode, ...draft } = p!.draft;
      const key = taskKey(p!.task);
      return { ...draft, endpoint: { node: endpointNode, host: nodes.get(endpointNode)!.address, port: ports.get(key)! }, costPerHourUSD: round(costs.get(`${m.id}#${draft.index}`) ?? 0, 4) };
    });
    const contextLength = Math.min(...replicas.map((r) => r.contextLength));
    const served: ServedModelPlan = {
      id: m.id, engine: m.engine, aliases: m.aliases, source: m.source, archSource: resolved.archSource, arch: resolved.arch,
      quantization: resolved.quantization, kvCacheDtype: resolved.kvCacheDtype, engineVersion: m.engine === "vllm" ? resolved.accounting.version : null, contextLength,
      maxOutputTokens: m.maxOutputTokens ?? contextLength, sampling: m.sampling, systemPrompt: m.systemPrompt, display: m.display,
      replicas, tiers: tiers.get(m.id) ?? [], anyKeyTiers: anyKeyTiers.get(m.id) ?? [], costPerHourUSD: round(replicas.reduce((s, r) => s + r.costPerHourUSD, 0), 4),
    };
    return served;
  });

  return {
    name: spec.name,
    region: spec.region,
    spec,
    models,
    nodes: nodePlans,
    gateway: spec.gateway ?? null,
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
function replicaCosts(nodePlans: NodePlan[], nodes: ReadonlyMap<string, ResolvedNode>): Map<string, number> {
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
  return byReplica;
}
