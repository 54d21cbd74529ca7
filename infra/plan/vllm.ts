/**
 * vLLM replica planning, following vLLM's own accounting (reference/memory-math.md §a, §b):
 * per GPU, budget = gpu_memory_utilization × total; KV = budget − weights − activation peak −
 * non-torch memory; blocks of 16 tokens; the smallest worker bounds the whole replica.
 */
import type { Gpu } from "../catalog/types";
import { findModel } from "../catalog/models";
import { KV_CACHE_FLAG_VALUE, QUANTIZATIONS } from "../catalog/quantization";
import { GiB, kvBytesPerToken, kvBytesPerTokenPerLayer, round, toGiB } from "./arch";
import { checkSplit, proportionalSplit, splitRanges } from "./split";
import type { ReplicaInput } from "./replica";
import type { ReplicaPlan, StagePlan } from "./types";

/** The planner's --gpu-memory-utilization when the spec sets none (always rendered explicitly). */
export const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;
/** CacheConfig.DEFAULT_BLOCK_SIZE (memory-math.md §a.6). */
export const VLLM_BLOCK_SIZE = 16;
/** non_torch_increase seen in vLLM logs: 0.35 GiB (1×3090), 0.25 GiB (2×4090 TP) — datapoints.json. */
const NON_TORCH_BYTES = 0.35 * GiB;
/**
 * vLLM ≥ 0.21 subtracts its CUDA-graph memory estimate from the KV budget (vllm-serve-args.json
 * source note: "Enabled by default as of v0.21.0"); one published estimate was 0.50 GiB
 * (datapoints.json vllm-pp-partition-64-layers-pp3).
 */
const CUDA_GRAPH_ESTIMATE_BYTES = 0.5 * GiB;
/** Below this many tokens of KV cache a replica is not worth serving. */
const MIN_USEFUL_CONTEXT = 2048;

/** vLLM's effective batch defaults (EngineArgs.get_batch_defaults, vllm-serve-args.json). */
function batchDefaults(gpu: Gpu): { maxNumSeqs: number; maxNumBatchedTokens: number } {
  const big = gpu.memoryMiB >= 70 * 1024 && !gpu.id.startsWith("A100");
  return big ? { maxNumSeqs: 1024, maxNumBatchedTokens: 8192 } : { maxNumSeqs: 256, maxNumBatchedTokens: 2048 };
}

/**
 * Peak activation of the profile run (a forward pass of max_num_batched_tokens tokens): the MLP's
 * gate/up/down intermediates dominate, 2 bytes per element, sharded by TP. Fits the V0 log of
 * Llama-3.1-8B (2.07 GiB at 20000 tokens ≈ 111 KB/token, datapoints.json vllm-10517). The last
 * stage also samples: fp32 logits for max_num_seqs rows, twice (logits + probabilities).
 */
function activationPeakBytes(input: ReplicaInput, tp: number, tokens: number, maxNumSeqs: number, last: boolean): number {
  const a = input.arch;
  const mlpWidth = a.moe ? a.moe.expertsPerToken * a.moe.expertIntermediateSize : a.intermediateSize;
  const perToken = 2 * ((3 * mlpWidth) / tp + ((a.numAttentionHeads + 2 * a.numKeyValueHeads) * a.headDim) / tp + 2 * a.hiddenSize);
  const sampler = last ? maxNumSeqs * a.vocabSize * 4 * 2 : 0;
  return tokens * perToken + sampler;
}

export function planVllmReplica(input: ReplicaInput): ReplicaPlan | null {
  const { model, path, replica, arch, weights, issues } = input;
  const before = issues.length;
  const util = model.gpuMemoryUtilization ?? DEFAULT_GPU_MEMORY_UTILIZATION;
  const quant = QUANTIZATIONS[input.quantization];

  // Stages: one per node; the node's chosen GPUs form its tensor-parallel group.
  const stages = replica.nodes.map((nodeName, s) => {
    const node = input.nodes.get(nodeName)!;
    const gpuIdx = replica.gpus ?? node.gpus.map((_, k) => k);
    const bad = gpuIdx.filter((k) => k >= node.gpus.length);
    if (bad.length) issues.push({ path: `${path}.gpus`, message: `node ${nodeName} has ${node.gpus.length} GPU(s); index ${bad.join(", ")} does not exist`, fix: `use indices 0..${node.gpus.length - 1}` });
    const gpus = gpuIdx.filter((k) => k < node.gpus.length).map((k) => ({ index: k, gpu: node.gpus[k]! }));
    if (gpus.length === 0) issues.push({ path: `${path}.nodes[${s}]`, message: `node ${nodeName} has no GPU; vLLM serves on GPUs`, fix: "use a GPU node, or engine llamacpp for CPU serving" });
    const models = [...new Set(gpus.map((g) => g.gpu.id))];
    if (models.length > 1) issues.push({ path: `${path}.nodes[${s}]`, message: `tensor parallelism across different GPU models (${models.join(" + ")}) on ${nodeName}: every TP rank holds an equal shard, so the smallest GPU bounds all`, fix: "select GPUs of one model with replica.gpus, or put each GPU model in its own pipeline stage (another node)" });
    return { node, gpus };
  });
  if (issues.length > before) return null;

  const tp = stages[0]!.gpus.length;
  const pp = stages.length;
  if (stages.some((s) => s.gpus.length !== tp)) {
    issues.push({ path: `${path}.nodes`, message: `vLLM runs the same tensor-parallel size on every pipeline stage; these stages have ${stages.map((s) => s.gpus.length).join(", ")} GPUs`, fix: "use nodes with the same GPU count, or select equal GPU counts per node" });
  }
  if (arch.numAttentionHeads % tp !== 0) {
    const divisors = [1, 2, 4, 8, 16].filter((d) => arch.numAttentionHeads % d === 0);
    issues.push({ path: `${path}.nodes`, message: `total number of attention heads (${arch.numAttentionHeads}) must be divisible by tensor parallel size (${tp}) — vLLM refuses to start`, fix: `use ${divisors.join(", ")} GPUs per node` });
  }
  if (pp > 1 && input.catalogKey && findModel(input.catalogKey)?.supportsPipelineParallel === false) {
    issues.push({ path: `${path}.nodes`, message: "vLLM does not implement pipeline parallelism for this architecture", fix: "serve it on one node" });
  }
  if (quant.vllmQuantization?.endsWith("_marlin")) {
    // awq_marlin / gptq_marlin kernels need compute capability 8.0 (Ampere) or newer.
    const old = stages.flatMap((s) => s.gpus).filter((g) => g.gpu.computeCapability < 8);
    if (old.length) issues.push({ path: `${input.modelPath}.quantization`, message: `${input.quantization} runs on vLLM's Marlin kernels, which need compute capability 8.0; ${[...new Set(old.map((g) => `${g.gpu.id} is ${g.gpu.computeCapability}`))].join(", ")}`, fix: "use fp16 weights or a GGUF quantization with engine llamacpp on these GPUs, or Ampere or newer GPUs" });
  }
  if (quant.needsFp8Hardware) {
    const old = stages.flatMap((s) => s.gpus).filter((g) => !g.gpu.fp8);
    if (old.length) issues.push({ path: `${input.modelPath}.quantization`, message: `fp8 weights need FP8 tensor cores; ${[...new Set(old.map((g) => g.gpu.id))].join(", ")} has none`, fix: "use awq or gptq, or Ada/Hopper GPUs (L4, L40S, H100)" });
  }

  let split: number[];
  if (replica.layerSplit) {
    const problems = checkSplit(replica.layerSplit, pp, arch.numLayers);
    problems.forEach((m) => issues.push({ path: `${path}.layerSplit`, message: m, fix: `give ${pp} positive counts summing to ${arch.numLayers}, or remove layerSplit for a split proportional to memory` }));
    split = replica.layerSplit;
  } else {
    split = proportionalSplit(arch.numLayers, stages.map((s) => s.gpus.length * s.gpus[0]!.gpu.memoryMiB * util));
  }
  if (issues.length > before) return null;

  const gpu0 = stages[0]!.gpus[0]!.gpu;
  const defaults = batchDefaults(gpu0);
  const maxNumSeqs = model.concurrency ?? defaults.maxNumSeqs;
  const kvHeadsPerGpu = Math.max(1, Math.floor(arch.numKeyValueHeads / tp));
  const ranges = splitRanges(split);

  const perStage = stages.map((s, i) => {
    const first = i === 0;
    const last = i === pp - 1;
    const layers = split[i]!;
    const tiedOnce = pp === 1 && arch.tieWordEmbeddings;
    const stageBytes = layers * weights.layer + (first ? weights.embeddings : 0) + (last && !tiedOnce ? weights.lmHead : 0);
    const weightsPerGpu = stageBytes / tp;
    const activation = activationPeakBytes(input, tp, defaults.maxNumBatchedTokens, maxNumSeqs, last);
    const budget = s.gpus[0]!.gpu.memoryMiB * 1024 * 1024 * util;
    const available = budget - weightsPerGpu - activation - NON_TORCH_BYTES - CUDA_GRAPH_ESTIMATE_BYTES;
    const kvPerTokenPerGpu = layers * kvBytesPerTokenPerLayer(arch, kvHeadsPerGpu, input.kvCacheDtype);
    const blocks = Math.max(0, Math.floor(available / (VLLM_BLOCK_SIZE * kvPerTokenPerGpu)));
    const activeBytes = (layers * weights.layerActive + (last ? weights.lmHead : 0)) / tp;
    return { s, first, last, layers, weightsPerGpu, activation, budget, available, kvPerTokenPerGpu, blocks, activeBytes };
  });

  // vLLM checks free memory ≥ utilization × total at start (memory-math.md §a.1): a GPU that another replica already uses fails.
  perStage.forEach((st, i) => {
    for (const g of st.s.gpus) {
      const free = st.s.node.freeGpuBytes[g.index]!;
      if (free + 1 < st.budget) {
        issues.push({ path: `${path}.nodes[${i}]`, message: `GPU ${g.index} of ${st.s.node.spec.name} has ${round(toGiB(free))} GiB free after the replicas planned before this one, but vLLM needs ${round(toGiB(st.budget))} GiB free at start (gpu_memory_utilization ${util})`, fix: "lower gpuMemoryUtilization on the replicas sharing this GPU so they sum below ~0.9, or give this replica its own GPU" });
      }
    }
    if (st.available <= 0) {
      const need = st.weightsPerGpu + st.activation + NON_TORCH_BYTES + CUDA_GRAPH_ESTIMATE_BYTES;
      issues.push({
        path: `${path}.nodes[${i}]`,
        message: `does not fit: stage ${i} (${st.s.node.spec.name}, ${st.layers} layers) needs ${round(toGiB(st.weightsPerGpu))} GiB of weights + ${round(toGiB(st.activation + NON_TORCH_BYTES + CUDA_GRAPH_ESTIMATE_BYTES))} GiB of activations and buffers per GPU = ${round(toGiB(need))} GiB, but ${st.s.gpus[0]!.gpu.id} gives ${round(toGiB(st.budget))} GiB at utilization ${util}`,
        fix: `quantize (awq/gptq: ~4.2 bits per weight), move layers to a larger stage with layerSplit, or add GPUs/nodes`,
      });
    }
  });
  if (issues.length > before) return null;

  const minBlocks = Math.min(...perStage.map((st) => st.blocks));
  const capacity = minBlocks * VLLM_BLOCK_SIZE;
  const notes: string[] = [];
  const maxPos = arch.maxPositionEmbeddings;
  let context: number;
  if (model.contextLength !== undefined) {
    context = model.contextLength;
    if (context > maxPos) {
      issues.push({ path: `${input.modelPath}.contextLength`, message: `${context} is beyond the model's maximum of ${maxPos} tokens`, fix: `use at most ${maxPos}` });
    } else if (context > capacity) {
      const needGiB = (context * kvBytesPerToken(arch, input.kvCacheDtype)) / GiB;
      const fixes = [`contextLength ≤ ${capacity}`];
      if (input.kvCacheDtype !== "fp8") fixes.push("kvCacheDtype fp8 (halves KV bytes)");
      fixes.push("more or larger GPUs", util < 0.95 ? "a higher gpuMemoryUtilization" : "");
      issues.push({ path: `${input.modelPath}.contextLength`, message: `one ${context}-token sequence needs ${round(needGiB)} GiB of KV cache; this replica holds ${capacity} tokens (the smallest stage bounds it)`, fix: fixes.filter(Boolean).join(", or ") });
    }
  } else {
    context = capacity >= maxPos ? maxPos : Math.floor(capacity / 1024) * 1024;
    notes.push(capacity >= maxPos ? `context ${maxPos}: the model's maximum` : `context ${context}: the most the KV cache holds (model maximum ${maxPos})`);
    if (context < MIN_USEFUL_CONTEXT) {
      issues.push({ path, message: `only ${capacity} tokens of KV cache fit after the weights`, fix: "quantize the weights, use kvCacheDtype fp8, or add GPUs" });
    }
  }
  if (issues.length > before) return null;

  for (const st of perStage) for (const g of st.s.gpus) st.s.node.freeGpuBytes[g.index]! -= st.budget;

  const stagePlans: StagePlan[] = perStage.map((st, i) => ({
    node: st.s.node.spec.name,
    gpus: st.s.gpus.map((g) => g.index),
    gpuModel: st.s.gpus[0]!.gpu.id,
    layers: ranges[i]!,
    holdsEmbeddings: st.first,
    holdsLmHead: st.last,
    weightsGiBPerGpu: round(toGiB(st.weightsPerGpu)),
    kvCacheGiBPerGpu: round(toGiB(minBlocks * VLLM_BLOCK_SIZE * st.kvPerTokenPerGpu)),
    budgetGiBPerGpu: round(toGiB(st.budget)),
  }));
  const secondsPerToken = perStage.reduce((t, st) => t + st.activeBytes / (st.s.gpus[0]!.gpu.bandwidthGBs * 1e9), 0);
  const kvCacheBytes = perStage.reduce((sum, st) => sum + tp * minBlocks * VLLM_BLOCK_SIZE * st.kvPerTokenPerGpu, 0);

  return {
    index: input.index,
    nodes: replica.nodes,
    stages: stagePlans,
    tensorParallel: tp,
    pipelineParallel: pp,
    layerSplit: split,
    weightsGiB: round(toGiB(perStage.reduce((sum, st) => sum + st.weightsPerGpu * tp, 0))),
    kvBytesPerToken: kvBytesPerToken(arch, input.kvCacheDtype),
    kvCacheGiB: round(toGiB(kvCacheBytes)),
    kvCacheTokens: capacity,
    contextLength: context,
    maxConcurrentSequences: Math.min(maxNumSeqs, Math.floor(capacity / context)),
    gpuLayers: arch.numLayers,
    totalLayers: arch.numLayers,
    gpuFraction: 1,
    decodeTokensPerSecond: round(1 / secondsPerToken, 1),
    costPerHourUSD: 0,
    endpoint: { node: replica.nodes[0]!, host: stages[0]!.node.address, port: 0 },
    weight: replica.weight ?? 1,
    notes,
    vllm: {
      gpuMemoryUtilization: util,
      maxNumSeqs,
      maxNumBatchedTokens: defaults.maxNumBatchedTokens,
      quantization: quant.vllmQuantization,
      kvCacheDtype: KV_CACHE_FLAG_VALUE.vllm[input.kvCacheDtype] ?? "auto",
      activationPeakGiB: round(toGiB(Math.max(...perStage.map((st) => st.activation)))),
      nonTorchGiB: round(toGiB(NON_TORCH_BYTES)),
    },
  };
}
