/**
 * vLLM replica planning, following vLLM's own accounting for the version that will run
 * (reference/memory-math.md §a, §b; catalog/vllm-versions.ts; vllm-memory.ts): per GPU, requested =
 * utilization × CUDA total; KV = requested − weights − activation peak − non-torch [− CUDA graphs];
 * blocks of 16 tokens; the smallest worker bounds the whole replica. Pure: it reads the nodes and
 * returns the replica and the GPU memory it takes; it never debits a shared ledger.
 */
import { findModel } from "../catalog/models";
import { KV_CACHE_FLAG_VALUE, QUANTIZATIONS } from "../catalog/quantization";
import type { Gpu, ModelArch } from "../catalog/types";
import { SAMPLER_BYTES_PER_LOGIT, samplerPathFor, type VllmAccounting } from "../catalog/vllm-versions";
import { GiB, kvBytesPerToken, round, toGiB, weightBytes, type ExpertPadding } from "./arch";
import { replicaGpus } from "./nodes";
import { checkSplit, proportionalSplit, splitRanges } from "./split";
import type { Claims, ReplicaDraft, ReplicaInput } from "./replica";
import type { StagePlan } from "./types";
import {
  activationPeakBytes, kvCacheTokens, kvLayout, maxConcurrency, maxLengthFitting, requestBytes, TP_PCIE_BYTES_PER_RANK, workerBlocks, workerGroupSize, workerMemory,
} from "./vllm-memory";

/** Below this many tokens of KV cache a replica is not worth serving. */
const MIN_USEFUL_CONTEXT = 2048;

/** vLLM's effective batch defaults (EngineArgs.get_batch_defaults: ≥ 70 GiB and not an A100 → 8192/1024). */
function batchDefaults(gpu: Gpu): { maxNumSeqs: number; maxNumBatchedTokens: number } {
  const big = gpu.cudaTotalBytes >= 70 * GiB && !gpu.id.startsWith("A100");
  return big ? { maxNumSeqs: 1024, maxNumBatchedTokens: 8192 } : { maxNumSeqs: 256, maxNumBatchedTokens: 2048 };
}

/**
 * How vLLM's MXFP4 backend lays out the experts on this GPU (mxfp4.py create_weights, v0.16.0): Marlin pads
 * hidden to 256 and the per-rank intermediate size to 128; the Triton backend (Hopper, in images with
 * triton_kernels: VllmAccounting.mxfp4HopperBackend) keeps the intermediate size (a multiple of 64) and, by the
 * v0.14.1 log of gpt-oss-120b (64.38 GiB, vllm#33155), holds hidden at a multiple of 256 too.
 */
function mxfp4Padding(gpu: Gpu, accounting: VllmAccounting, tp: number): ExpertPadding {
  const triton = gpu.computeCapability === 9.0 && accounting.mxfp4HopperBackend === "triton";
  return triton ? { hiddenAlign: 256, intermediateAlign: 64, tensorParallel: tp } : { hiddenAlign: 256, intermediateAlign: 128, tensorParallel: tp };
}

/**
 * vLLM's block-wise FP8 shape checks (vllm/model_executor/layers/quantization/fp8.py Fp8MoEMethod.create_weights
 * and utils/fp8_utils.py validate_fp8_block_shape, v0.16.0): the per-rank intermediate size of the experts (MoE)
 * or of the MLP (dense) must be a multiple of block_n, and with TP > 1 of block_k (the row-parallel down
 * projection). Returns vLLM's message, or null.
 */
export function fp8BlockProblem(block: [number, number] | undefined, arch: ModelArch, tp: number): string | null {
  if (!block) return null;
  const [n, k] = block;
  const per = (arch.moe ? arch.moe.expertIntermediateSize : arch.intermediateSize) / tp;
  if (!Number.isInteger(per) || per % n !== 0) return `The output_size of gate's and up's weight = ${per} is not divisible by weight quantization block_n = ${n}`;
  if (tp > 1 && per % k !== 0) return `The input_size of down's weight = ${per} is not divisible by weight quantization block_k = ${k}`;
  return null;
}

export function planVllmReplica(input: ReplicaInput): { draft: ReplicaDraft; claims: Claims } | null {
  const { model, path, replica, arch, issues, accounting } = input;
  const before = issues.length;
  const util = model.gpuMemoryUtilization ?? accounting.defaultGpuMemoryUtilization;
  const quant = QUANTIZATIONS[input.quantization];

  // Stages: one per node; the node's chosen GPUs form its tensor-parallel group.
  const stages = replica.nodes.map((nodeName, s) => {
    const node = input.nodes.get(nodeName)!;
    const { gpus } = replicaGpus(node, replica.gpus, path, issues);
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
  const blockProblem = fp8BlockProblem(input.catalogKey ? findModel(input.catalogKey)?.weightBlockSize : undefined, arch, tp);
  if (blockProblem) {
    const fits = [1, 2, 4, 8, 16].filter((d) => arch.numAttentionHeads % d === 0 && !fp8BlockProblem(findModel(input.catalogKey!)!.weightBlockSize, arch, d));
    issues.push({ path: `${path}.nodes`, message: `${blockProblem} at tensor parallel size ${tp} — vLLM refuses to start (block-wise FP8: each rank's slice must be whole ${findModel(input.catalogKey!)!.weightBlockSize!.join("×")} blocks)`, fix: `select ${fits.join(" or ")} GPUs per node with replica.gpus (pipeline stages across nodes for more), or serve the unquantized checkpoint` });
  }
  if (pp > 1 && input.catalogKey && findModel(input.catalogKey)?.supportsPipelineParallel === false) {
    issues.push({ path: `${path}.nodes`, message: "vLLM does not implement pipeline parallelism for this architecture", fix: "serve it on one node" });
  }
  const allGpus = stages.flatMap((s) => s.gpus);
  if (quant.minComputeCapability !== undefined) {
    const old = allGpus.filter((g) => g.gpu.computeCapability < quant.minComputeCapability!);
    if (old.length) issues.push({ path: `${input.modelPath}.quantization`, message: `vLLM's ${input.quantization} kernels need compute capability ${quant.minComputeCapability.toFixed(1)}; ${[...new Set(old.map((g) => `${g.gpu.id} is ${g.gpu.computeCapability.toFixed(1)}`))].join(", ")}`, fix: "use newer GPUs, or a GGUF quantization with engine llamacpp on these" });
  }
  if (quant.needsFp8Hardware) {
    const old = allGpus.filter((g) => !g.gpu.fp8);
    if (old.length) issues.push({ path: `${input.modelPath}.quantization`, message: `fp8 weights need FP8 tensor cores; ${[...new Set(old.map((g) => g.gpu.id))].join(", ")} has none`, fix: "use awq or gptq, or Ada/Hopper GPUs (L4, L40S, H100)" });
  }

  let split: number[];
  if (replica.layerSplit) {
    const problems = checkSplit(replica.layerSplit, pp, arch.numLayers);
    problems.forEach((m) => issues.push({ path: `${path}.layerSplit`, message: m, fix: `give ${pp} positive counts summing to ${arch.numLayers}, or remove layerSplit for a split proportional to memory` }));
    split = replica.layerSplit;
  } else {
    split = proportionalSplit(arch.numLayers, stages.map((s) => s.gpus.length * s.gpus[0]!.gpu.cudaTotalBytes * util));
  }
  if (issues.length > before) return null;

  const defaults = batchDefaults(stages[0]!.gpus[0]!.gpu);
  const maxNumSeqs = model.concurrency ?? defaults.maxNumSeqs;
  const mnbt = defaults.maxNumBatchedTokens;
  const kvHeadsPerGpu = Math.max(1, Math.floor(arch.numKeyValueHeads / tp));
  const layout = kvLayout(arch, kvHeadsPerGpu, input.kvCacheDtype);
  const ranges = splitRanges(split);

  const perStage = stages.map((s, i) => {
    const first = i === 0;
    const last = i === pp - 1;
    const gpu = s.gpus[0]!.gpu;
    const w = quant.expertsOnly ? weightBytes(arch, input.quantization, undefined, mxfp4Padding(gpu, accounting, tp)) : input.weights;
    const layers = split[i]!;
    const tiedOnce = pp === 1 && arch.tieWordEmbeddings;
    const weightsPerGpu = (layers * w.layer + (first ? w.embeddings : 0) + (last && !tiedOnce ? w.lmHead : 0)) / tp;
    const mem = workerMemory({ gpu, util, accounting, tensorParallel: tp, worldSize: tp * pp, weights: weightsPerGpu, activation: activationPeakBytes(arch, tp, mnbt, maxNumSeqs, last, SAMPLER_BYTES_PER_LOGIT[samplerPathFor(accounting, Math.min(maxNumSeqs, mnbt))]) });
    const blocks = workerBlocks(layout, ranges[i]!, mem.available);
    const activeBytes = (layers * w.layerActive + (last ? w.lmHead : 0)) / tp;
    return { s, i, first, last, layers, range: ranges[i]!, mem, blocks, activeBytes };
  });

  perStage.forEach((st) => {
    if (st.mem.available <= 0) {
      const m = st.mem;
      issues.push({
        path: `${path}.nodes[${st.i}]`,
        message: `does not fit: stage ${st.i} (${st.s.node.spec.name}, ${st.layers} layers) needs ${round(toGiB(m.weights))} GiB of weights + ${round(toGiB(m.activation + m.nonTorch + m.cudaGraphInBudget))} GiB of activations and buffers per GPU = ${round(toGiB(m.weights + m.activation + m.nonTorch + m.cudaGraphInBudget))} GiB, but ${st.s.gpus[0]!.gpu.id} gives ${round(toGiB(m.requested))} GiB at utilization ${util} (vLLM ${accounting.version} would log "Available KV cache memory: ${round(toGiB(m.available))} GiB" and refuse)`,
        fix: `quantize (awq/gptq: ~4.2 bits per weight), move layers to a larger stage with layerSplit, or add GPUs/nodes`,
      });
    }
  });
  if (issues.length > before) return null;

  const minBlocks = Math.min(...perStage.map((st) => st.blocks));
  const capacity = kvCacheTokens(layout, minBlocks);
  // vLLM's "max seq len" check: per worker with its own layers, or (v0.16) the smallest worker against every layer.
  const checks = accounting.pipelineContextCheck === "per-worker"
    ? perStage.map((st) => ({ available: st.mem.available, groupSize: workerGroupSize(layout, st.range) }))
    : [{ available: Math.min(...perStage.map((st) => st.mem.available)), groupSize: workerGroupSize(layout, [0, arch.numLayers]) }];
  const maxPos = arch.maxPositionEmbeddings;
  const fitting = Math.min(...checks.map((c) => maxLengthFitting(layout, c.groupSize, c.available, mnbt, maxPos)));
  const notes: string[] = [];
  let context: number;
  if (model.contextLength !== undefined) {
    context = model.contextLength;
    if (context > maxPos) {
      issues.push({ path: `${input.modelPath}.contextLength`, message: `${context} is beyond the model's maximum of ${maxPos} tokens`, fix: `use at most ${maxPos}` });
    } else if (context > fitting) {
      const worst = checks.reduce((a, b) => (a.available <= b.available ? a : b));
      const need = requestBytes(layout, worst.groupSize, context, mnbt);
      const fixes = [`contextLength ≤ ${fitting}`];
      if (input.kvCacheDtype !== "fp8") fixes.push("kvCacheDtype fp8 (halves KV bytes)");
      fixes.push("more or larger GPUs", util < 0.95 ? "a higher gpuMemoryUtilization" : "");
      issues.push({ path: `${input.modelPath}.contextLength`, message: `one ${context}-token sequence needs ${round(toGiB(need))} GiB of KV cache, larger than the available KV cache memory (${round(toGiB(worst.available))} GiB); vLLM ${accounting.version} refuses to start and estimates the maximum model length at ${fitting}`, fix: fixes.filter(Boolean).join(", or ") });
    }
  } else {
    context = fitting >= maxPos ? maxPos : Math.floor(fitting / 1024) * 1024;
    notes.push(fitting >= maxPos ? `context ${maxPos}: the model's maximum` : `context ${context}: the most the KV cache holds (model maximum ${maxPos})`);
    if (context < MIN_USEFUL_CONTEXT) {
      const worst = checks.reduce((a, b) => (a.available <= b.available ? a : b));
      issues.push({ path, message: `only ${fitting} tokens of KV cache fit after the weights: vLLM ${accounting.version} would log "Available KV cache memory: ${round(toGiB(worst.available))} GiB" and refuse the model's ${maxPos}-token maximum (one such sequence needs ${round(toGiB(requestBytes(layout, worst.groupSize, maxPos, mnbt)))} GiB)`, fix: "quantize the weights, use kvCacheDtype fp8, or add GPUs" });
    }
  }
  if (issues.length > before) return null;
  const pcie = tp > 1 ? [...new Set(perStage.map((st) => st.s.gpus[0]!.gpu).filter((g) => !g.nvlink).map((g) => g.id))] : [];
  if (pcie.length) notes.push(`tensor-parallel buffers on ${pcie.join(", ")} (PCIe): ${round(toGiB(TP_PCIE_BYTES_PER_RANK))} GiB a rank, as measured on an A100 PCIe server without GPU P2P (TP 2 on one node, TP 4 across nodes); boards with P2P over PCIe may hold more`);

  const stagePlans: StagePlan[] = perStage.map((st) => ({
    node: st.s.node.spec.name,
    gpus: st.s.gpus.map((g) => g.index),
    gpuModel: st.s.gpus[0]!.gpu.id,
    layers: st.range,
    holdsEmbeddings: st.first,
    holdsLmHead: st.last,
    weightsGiBPerGpu: round(toGiB(st.mem.weights)),
    kvCacheGiBPerGpu: round(toGiB(minBlocks * layout.pageBytes * workerGroupSize(layout, st.range))),
    budgetGiBPerGpu: round(toGiB(st.mem.requested)),
  }));
  const secondsPerToken = perStage.reduce((t, st) => t + st.activeBytes / (st.s.gpus[0]!.gpu.bandwidthGBs * 1e9), 0);
  const kvCacheBytes = perStage.reduce((sum, st) => sum + tp * minBlocks * layout.pageBytes * workerGroupSize(layout, st.range), 0);
  const worst = perStage.reduce((a, b) => (a.mem.available <= b.mem.available ? a : b));

  const draft: ReplicaDraft = {
    index: input.index,
    nodes: replica.nodes,
    stages: stagePlans,
    tensorParallel: tp,
    pipelineParallel: pp,
    layerSplit: split,
    weightsGiB: round(toGiB(perStage.reduce((sum, st) => sum + st.mem.weights * tp, 0))),
    kvBytesPerToken: kvBytesPerToken(arch, input.kvCacheDtype),
    kvCacheGiB: round(toGiB(kvCacheBytes)),
    kvCacheTokens: capacity,
    contextLength: context,
    maxConcurrentSequences: Math.min(maxNumSeqs, Math.floor(maxConcurrency(layout, minBlocks, context, mnbt))),
    gpuLayers: arch.numLayers,
    totalLayers: arch.numLayers,
    gpuFraction: 1,
    decodeTokensPerSecond: round(1 / secondsPerToken, 1),
    endpointNode: replica.nodes[0]!,
    weight: replica.weight,
    notes,
    vllm: {
      engineVersion: accounting.version,
      image: accounting.image,
      gpuMemoryUtilization: util,
      maxNumSeqs,
      maxNumBatchedTokens: mnbt,
      quantization: input.vllmQuantization,
      kvCacheDtype: KV_CACHE_FLAG_VALUE.vllm[input.kvCacheDtype] ?? "auto",
      activationPeakGiB: round(toGiB(Math.max(...perStage.map((st) => st.mem.activation)))),
      nonTorchGiB: round(toGiB(Math.max(...perStage.map((st) => st.mem.nonTorch)))),
      cudaGraphGiB: round(toGiB(worst.mem.cudaGraphInBudget)),
      availableKvGiBPerGpu: round(toGiB(worst.mem.available)),
      environment: accounting.environment.map((e) => `${e.name} ${e.value}: ${e.effect}`),
    },
  };
  // What the replica holds on each GPU: its requested budget plus what the process keeps beside it.
  const claims: Claims = {
    gpus: perStage.flatMap((st) => st.s.gpus.map((g) => ({ node: st.s.node.spec.name, index: g.index, bytes: st.mem.requested + st.mem.besideBudget, startBytes: st.mem.requested + st.mem.beforeSnapshot, startNeeds: st.mem.requested }))),
    ramBytes: [],
  };
  return { draft, claims };
}
