/**
 * Places every replica of the fleet and checks what they take together. Order-independent: vLLM
 * replicas size their KV cache from whole GPUs (vLLM's budget is a share of the GPU's total, whatever
 * else runs), then the sum of what shares one GPU is checked once; llama.cpp/Ollama replicas, which
 * fit into what is left, are planned in a fixed order (model id, replica index), not the spec's.
 * So reordering a spec's models changes no model's plan.
 */
import type { SpecIssue } from "../spec/errors";
import type { ServedModelSpec } from "../spec/schema";
import { round, toGiB } from "./arch";
import type { ResolvedNode } from "./nodes";
import { planOffloadReplica } from "./offload";
import type { Claims, ReplicaDraft, ReplicaInput, ResolvedModel } from "./replica";
import { planVllmReplica } from "./vllm";

export interface ReplicaTask {
  model: ServedModelSpec;
  /** Spec path of the model, e.g. models[1]. */
  modelPath: string;
  resolved: ResolvedModel;
  index: number;
}

/** The fixed order replicas are placed in: by model id, then replica index. */
export const taskKey = (t: { model: { id: string }; index: number }): string => `${t.model.id}\u0000${String(t.index).padStart(4, "0")}`;

export interface Placed {
  task: ReplicaTask;
  draft: ReplicaDraft;
  claims: Claims;
}

export function placeReplicas(tasks: ReplicaTask[], nodes: ReadonlyMap<string, ResolvedNode>, nodeIndex: (name: string) => number, issues: SpecIssue[]): Map<string, Placed> {
  const placed = new Map<string, Placed>();
  const gpuTaken = new Map<string, number>();
  const ramTaken = new Map<string, number>();
  const gpuKey = (node: string, index: number) => `${node}#${index}`;
  const take = (claims: Claims) => {
    for (const c of claims.gpus) gpuTaken.set(gpuKey(c.node, c.index), (gpuTaken.get(gpuKey(c.node, c.index)) ?? 0) + c.bytes);
    for (const c of claims.ramBytes) ramTaken.set(c.node, (ramTaken.get(c.node) ?? 0) + c.bytes);
  };
  const capacity = {
    gpuBytes: (node: string, index: number) => nodes.get(node)!.gpuBytes[index]! - (gpuTaken.get(gpuKey(node, index)) ?? 0),
    ramBytes: (node: string) => nodes.get(node)!.ramBytes - (ramTaken.get(node) ?? 0),
  };
  const input = (t: ReplicaTask): ReplicaInput => ({
    ...t.resolved, model: t.model, path: `${t.modelPath}.replicas[${t.index}]`, modelPath: t.modelPath, replica: t.model.replicas[t.index]!,
    index: t.index, nodes, capacity, nodeIndex, issues,
  });
  const ordered = [...tasks].sort((a, b) => (taskKey(a) < taskKey(b) ? -1 : 1));

  const vllm = ordered.filter((t) => t.model.engine === "vllm");
  for (const t of vllm) {
    const r = planVllmReplica(input(t));
    if (r) placed.set(taskKey(t), { task: t, ...r });
  }
  checkSharedGpus([...placed.values()], nodes, nodeIndex, issues);
  for (const p of placed.values()) take(p.claims);

  for (const t of ordered.filter((t) => t.model.engine !== "vllm")) {
    const r = planOffloadReplica(input(t), t.model.engine as "llamacpp" | "ollama");
    if (!r) continue;
    placed.set(taskKey(t), { task: t, ...r });
    take(r.claims);
  }
  return placed;
}

/**
 * vLLM checks at start that the GPU's free memory covers its requested budget (request_memory: "Free
 * memory on device … on startup is less than desired GPU memory utilization"), and the process also holds
 * a CUDA context, communicators and CUDA graphs beside that budget. Replicas sharing a GPU must fit
 * together, whatever order they start in.
 */
function checkSharedGpus(placed: Placed[], nodes: ReadonlyMap<string, ResolvedNode>, nodeIndex: (name: string) => number, issues: SpecIssue[]): void {
  const byGpu = new Map<string, { node: string; index: number; users: { p: Placed; bytes: number; startBytes: number; startNeeds: number; stage: number }[] }>();
  for (const p of placed) {
    for (const c of p.claims.gpus) {
      const key = `${c.node}#${c.index}`;
      const entry = byGpu.get(key) ?? { node: c.node, index: c.index, users: [] };
      entry.users.push({ p, bytes: c.bytes, startBytes: c.startBytes ?? c.bytes, startNeeds: c.startNeeds ?? c.bytes, stage: p.draft.stages.findIndex((s) => s.node === c.node) });
      byGpu.set(key, entry);
    }
  }
  for (const { node, index, users } of byGpu.values()) {
    const n = nodes.get(node)!;
    const free = n.cudaGpuBytes[index]!;
    // One replica: vLLM's own start check (the graphs it captures later are its business, as in vLLM).
    // Several: all they hold together, whichever starts last.
    const total = users.length === 1 ? users[0]!.startBytes : users.reduce((s, u) => s + u.bytes, 0);
    if (total <= free + 1) continue;
    const held = n.spec.provider !== "aws" && n.spec.gpuMemoryInUseMiB ? ` after the ${n.spec.gpuMemoryInUseMiB} MiB other programs hold` : "";
    if (users.length === 1) {
      const u = users[0]!;
      const v = u.p.draft.vllm!;
      issues.push({
        path: `${u.p.task.modelPath}.replicas[${u.p.task.index}].nodes[${u.stage}]`,
        message: `GPU ${index} of ${node} has ${round(toGiB(free))} GiB free${held}, but vLLM needs ${round(toGiB(u.startNeeds))} GiB free at start (gpu_memory_utilization ${v.gpuMemoryUtilization} of the CUDA total) after its own ${round(toGiB(u.startBytes - u.startNeeds))} GiB (CUDA context, NCCL): "Free memory on device … on startup is less than desired GPU memory utilization"`,
        fix: "lower gpuMemoryUtilization, or free the GPU",
      });
      continue;
    }
    const who = users.map((u) => `${u.p.task.modelPath}.replicas[${u.p.task.index}] (${u.p.task.model.id}, ${round(toGiB(u.bytes))} GiB)`);
    issues.push({
      path: `nodes[${nodeIndex(node)}]`,
      message: `GPU ${index} of ${node} is shared by vLLM replicas ${who.join(" and ")}: together ${round(toGiB(total))} GiB, but it has ${round(toGiB(free))} GiB${held}; whichever starts last finds less free memory than its gpu_memory_utilization asks for`,
      fix: "lower gpuMemoryUtilization on the replicas sharing this GPU until their budgets (plus ~1.1 GiB each for the CUDA context and graphs) fit, or give each replica its own GPU",
    });
  }
}
