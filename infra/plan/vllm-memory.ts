/**
 * vLLM's start-up memory accounting for one worker (one GPU), per version (catalog/vllm-versions.ts),
 * and its KV cache layout (blocks, groups of sliding-window layers, the max-length check).
 *
 * requested = ceil(total × gpu_memory_utilization), total as CUDA reports it;
 * available KV = requested − weights − activation peak − non-torch increase [− CUDA-graph estimate].
 * Sources per term are beside each constant. Pure arithmetic, no I/O.
 */
import type { Gpu, KvCacheDtype, ModelArch } from "../catalog/types";
import type { VllmAccounting } from "../catalog/vllm-versions";
import { GiB, kvBytesPerTokenPerLayer } from "./arch";

/** CacheConfig.DEFAULT_BLOCK_SIZE (memory-math.md §a.6). */
export const VLLM_BLOCK_SIZE = 16;

/** A CUDA context costs 0.606 GiB before any allocation (reference/gpu-measured.md); it exists before vLLM's start snapshot. */
export const CUDA_CONTEXT_BYTES = 0.606 * GiB;
/**
 * Non-torch memory a single-GPU worker adds during profiling (cuBLAS workspaces, attention-backend
 * buffers): 0.13 GiB in a v0.2x log (https://github.com/vllm-project/vllm/issues/50780, "0.13 GiB for non-torch
 * memory"); the two gpt-oss-120b H100 logs (vllm#23278, vllm#27508) reconcile at 0.14 GiB.
 */
export const NON_TORCH_BASE_BYTES = 0.14 * GiB;
/**
 * Non-torch memory a tensor-parallel worker adds after the start snapshot, per rank of the TP group: 0.2 GiB × TP
 * (the NCCL connections its first large all-reduce / all-gather sets up during the profile run; the
 * communicators themselves, custom all-reduce's 8 MiB IPC buffers and pynccl's warm-up collective come before the
 * snapshot since vllm#25359). From V1 logs with the non-torch figure (reference/datapoints.json):
 * - one H100, v0.11–v0.20 accounting: Qwen3-32B 0.14 GiB at TP 1, 0.54 at TP 2 (+0.40); Llama-3.3-70B-FP8 TP 2
 *   0.55 (vllm-h100-empirical-qwen3-32b-tp1-tp2);
 * - B200, TP 4 (v0.2x): 0.95, i.e. +0.81 over the single-GPU base (vllm-02x-glm52-nvfp4-tp4-ep-b200);
 * - H200, TP 2, v0.10.2 (snapshot before distributed init): 1.38 in all = 0.14 + 0.40 + NCCL init 0.84
 *   (vllm-0102-qwen3-next-80b-tp2-h200; see distributedInitInBudgetBytes).
 * Not the 1.79 GiB per GPU of vllm#10511 (V0, Dec 2024), which a V0 snapshot taken before the communicators counted.
 * Near zero on a pipeline-only stage (send/recv only). These are NVLink / NVSwitch systems; see TP_PCIE_BYTES_PER_RANK.
 */
export const TP_COLLECTIVE_BYTES_PER_RANK = 0.2 * GiB;
/**
 * The same on PCIe boards (Gpu.nvlink false), NCCL's initialisation included: 0.06 GiB per rank of the TP group.
 * Two v0.10.1.1 logs of one A100 80GB PCIe server without P2P ("Custom allreduce is disabled because your platform
 * lacks GPU P2P capability"), start snapshot before distributed init, Qwen2-7B-Instruct at utilization 0.5: activation
 * + non-torch is 0.551 GiB at TP 1 and 0.673 GiB at TP 2, the sampler pass (the peak, full vocabulary on every rank)
 * unchanged: +0.12 GiB for NCCL and the collectives at TP 2 (dennislee22/vLLM-benchmarking log/vllm-7B-1gpuA10080GB-
 * 0.5GRAM.log, log/vllm-7B-2gpuA10080GB-0.5GRAM-same-node.log). Without NVLink NCCL opens few channels and, without
 * P2P, passes data through host memory (SHM transport), so its GPU buffers stay small. Measured, not derived: fitted to
 * that pair (vllm-logs.test.ts "consistency" block); checked independently by the TP 4 gpt-oss-120b log of the same
 * cluster (four nodes over Ray). Unmeasured: a PCIe board with P2P (NCCL's P2P transport keeps its buffers on the GPU),
 * which the plan says in a note. From v0.11 the NCCL init part of it falls before the snapshot: there it errs high.
 */
export const TP_PCIE_BYTES_PER_RANK = 0.06 * GiB;
/** An NCCL process group and its first collective on an H100: 1.22 − 0.737 = 0.48 GiB (reference/gpu-measured.md). PCIe boards: see workerMemory. */
export const NCCL_INIT_BYTES = 0.48 * GiB;
/**
 * What a version whose start snapshot precedes distributed init (v0.10.1) counts of that init inside the budget on
 * NVLink systems: 0.48 GiB plus 0.36 per further tensor-parallel rank (PCIe: within TP_PCIE_BYTES_PER_RANK). The
 * v0.10.2 TP 2 H200 log counts 1.38 − 0.14 − 0.40 = 0.84 (vllm-0102-qwen3-next-80b-tp2-h200); checked, not fitted,
 * against the TP 4 log of vllm#21348: 0.48 + 3 × 0.36 = 1.56 puts Qwen3-235B-A22B-FP8 within 1 % of its 8.11 GiB
 * (infra/plan/vllm-logs.test.ts). The start check of later versions keeps the measured NCCL_INIT_BYTES: no log shows
 * what they hold before the snapshot at TP > 1.
 */
export function distributedInitInBudgetBytes(tensorParallel: number, worldSize: number): number {
  return worldSize > 1 ? NCCL_INIT_BYTES + 0.36 * GiB * (tensorParallel - 1) : 0;
}
/**
 * CUDA-graph memory: the v0.21 estimate subtracted from the budget, and the pool earlier versions
 * capture beside it. One published run: 0.50 GiB estimated, 0.24 GiB actual (reference/datapoints.json
 * vllm-pp-partition-64-layers-pp3); the planner takes the estimate for both.
 */
export const CUDA_GRAPH_BYTES = 0.5 * GiB;
export interface WorkerInput {
  gpu: Gpu;
  util: number;
  accounting: VllmAccounting;
  tensorParallel: number;
  /** Tensor × pipeline ranks of the replica (NCCL is created when > 1). */
  worldSize: number;
  /** Weights on this GPU (bytes). */
  weights: number;
  /** Profile-run activation peak on this GPU (bytes). */
  activation: number;
}

export interface WorkerMemory {
  total: number;
  requested: number;
  weights: number;
  activation: number;
  nonTorch: number;
  /** CUDA-graph estimate taken out of the budget (v0.21+), else 0. */
  cudaGraphInBudget: number;
  /** "Available KV cache memory" as vLLM logs it (may be negative: vLLM refuses to start). */
  available: number;
  /** Memory the process holds before its start snapshot: CUDA context and, since v0.11, the communicators. */
  beforeSnapshot: number;
  /** All it holds beside the budget: that, plus CUDA graphs captured after the KV cache (before v0.21). */
  besideBudget: number;
}

export function workerMemory(w: WorkerInput): WorkerMemory {
  const v = w.accounting;
  const total = w.gpu.cudaTotalBytes;
  const requested = Math.ceil(total * w.util);
  // What NCCL holds before the snapshot (v0.11+), for the start check: the measured H100 figure on NVLink boards; on
  // PCIe the whole of NCCL and its collectives came to TP_PCIE_BYTES_PER_RANK a rank (0.12 GiB at TP 2), its bound.
  const nccl = w.worldSize > 1 ? (w.gpu.nvlink ? NCCL_INIT_BYTES : Math.max(w.tensorParallel, 2) * TP_PCIE_BYTES_PER_RANK) : 0;
  const tpBytes = w.tensorParallel > 1 ? w.tensorParallel * (w.gpu.nvlink ? TP_COLLECTIVE_BYTES_PER_RANK : TP_PCIE_BYTES_PER_RANK) : 0;
  const initInBudget = v.distributedInitInsideBudget && w.gpu.nvlink ? distributedInitInBudgetBytes(w.tensorParallel, w.worldSize) : 0;
  const nonTorch = NON_TORCH_BASE_BYTES + tpBytes + initInBudget;
  const cudaGraphInBudget = v.cudaGraphsInsideBudget ? CUDA_GRAPH_BYTES : 0;
  const available = requested - w.weights - w.activation - nonTorch - cudaGraphInBudget;
  const beforeSnapshot = CUDA_CONTEXT_BYTES + (v.distributedInitInsideBudget ? 0 : nccl);
  const besideBudget = beforeSnapshot + (v.cudaGraphsInsideBudget ? 0 : CUDA_GRAPH_BYTES);
  return { total, requested, weights: w.weights, activation: w.activation, nonTorch, cudaGraphInBudget, available, beforeSnapshot, besideBudget };
}

/**
 * Torch peak of the profile run on one GPU: the forward pass over max_num_batched_tokens (MLP
 * intermediates dominate, 2 bytes an element, sharded by TP; fits the 2.07 GiB of Llama-3.1-8B at 20000
 * tokens in reference/datapoints.json vllm-10517), or, on the last stage, the hidden states kept for the
 * sampler pass plus that pass (bytes per logit of the version's sampler path: SAMPLER_BYTES_PER_LOGIT) — whichever
 * is larger (the forward's intermediates are freed before it).
 */
export function activationPeakBytes(a: ModelArch, tp: number, tokens: number, maxNumSeqs: number, last: boolean, samplerBytesPerLogit: number): number {
  const mlpWidth = a.moe ? a.moe.expertsPerToken * a.moe.expertIntermediateSize : a.intermediateSize;
  const perToken = 2 * ((3 * mlpWidth) / tp + ((a.numAttentionHeads + 2 * a.numKeyValueHeads) * a.headDim) / tp + 2 * a.hiddenSize);
  const forward = tokens * perToken;
  if (!last) return forward;
  const sampler = Math.min(maxNumSeqs, tokens) * a.vocabSize * samplerBytesPerLogit + tokens * a.hiddenSize * 2;
  return Math.max(forward, sampler);
}

/** Is layer i a sliding-window layer? */
export function isSlidingLayer(a: ModelArch, i: number): boolean {
  return a.slidingWindow !== undefined && (i + 1) % a.slidingWindow.fullEvery !== 0;
}

export interface KvLayout {
  /** Bytes of one block of one layer on one GPU. */
  pageBytes: number;
  /** Global layer indices of each KV cache group, and whether the group is sliding-window. */
  groups: { layers: number[]; sliding: boolean }[];
  window: number | null;
}

/**
 * KV cache groups as vLLM forms them (kv_cache_utils.py _get_kv_cache_groups_uniform_page_size, v0.16.0):
 * all full-attention layers form one group; with sliding-window layers, each type is split into groups
 * of `min` layers (or `max` when max < 1.25 × min), layer lists dealt round-robin (layers[i::n]).
 */
export function kvLayout(a: ModelArch, kvHeadsPerGpu: number, dtype: KvCacheDtype): KvLayout {
  const pageBytes = VLLM_BLOCK_SIZE * kvBytesPerTokenPerLayer(a, kvHeadsPerGpu, dtype);
  const all = Array.from({ length: a.numLayers }, (_, i) => i);
  const sliding = all.filter((i) => isSlidingLayer(a, i));
  const full = all.filter((i) => !isSlidingLayer(a, i));
  if (sliding.length === 0) return { pageBytes, groups: [{ layers: full, sliding: false }], window: null };
  const types = [{ layers: full, sliding: false }, { layers: sliding, sliding: true }].filter((t) => t.layers.length > 0);
  const min = Math.min(...types.map((t) => t.layers.length));
  const max = Math.max(...types.map((t) => t.layers.length));
  const groupSize = max < min * 1.25 ? max : min;
  const groups = types.flatMap((t) => {
    const n = Math.ceil(t.layers.length / groupSize);
    return Array.from({ length: n }, (_, k) => ({ layers: t.layers.filter((_, j) => j % n === k), sliding: t.sliding }));
  });
  return { pageBytes, groups, window: a.slidingWindow!.window };
}

/** Layers per group on a worker holding [start, end): its pools are that many pages per block. */
export function workerGroupSize(layout: KvLayout, range: [number, number]): number {
  return Math.max(...layout.groups.map((g) => g.layers.filter((l) => l >= range[0] && l < range[1]).length));
}

/** Blocks a worker allocates (get_num_blocks: available // page_size // group_size). */
export function workerBlocks(layout: KvLayout, range: [number, number], available: number): number {
  const size = workerGroupSize(layout, range);
  return size === 0 ? Number.MAX_SAFE_INTEGER : Math.max(0, Math.floor(available / layout.pageBytes / size));
}

/** "GPU KV cache size: N tokens" (num_blocks // groups × block_size). */
export function kvCacheTokens(layout: KvLayout, blocks: number): number {
  return Math.floor(blocks / layout.groups.length) * VLLM_BLOCK_SIZE;
}

/** Blocks one request of `len` tokens needs in a group (FullAttentionSpec / SlidingWindowSpec.max_memory_usage_bytes). */
function blocksPerRequest(layout: KvLayout, sliding: boolean, len: number, maxNumBatchedTokens: number): number {
  if (!sliding) return Math.ceil(len / VLLM_BLOCK_SIZE);
  const tokens = Math.min(layout.window! - 1 + maxNumBatchedTokens, len);
  return Math.ceil(tokens / VLLM_BLOCK_SIZE) + 1;
}

/** Bytes one request of `len` tokens needs on a worker whose groups hold `groupSize` layers. */
export function requestBytes(layout: KvLayout, groupSize: number, len: number, maxNumBatchedTokens: number): number {
  const blocks = layout.groups.reduce((s, g) => s + blocksPerRequest(layout, g.sliding, len, maxNumBatchedTokens), 0);
  return groupSize * layout.pageBytes * blocks;
}

/** Largest length whose request fits `available` bytes (vLLM's estimate_max_model_len binary search), capped at `cap`. */
export function maxLengthFitting(layout: KvLayout, groupSize: number, available: number, maxNumBatchedTokens: number, cap: number): number {
  if (requestBytes(layout, groupSize, 1, maxNumBatchedTokens) > available) return 0;
  let lo = 1;
  let hi = cap;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (requestBytes(layout, groupSize, mid, maxNumBatchedTokens) <= available) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Requests of `len` tokens the blocks hold at once (get_max_concurrency_for_kv_cache_config). */
export function maxConcurrency(layout: KvLayout, blocks: number, len: number, maxNumBatchedTokens: number): number {
  const perRequest = layout.groups.reduce((s, g) => s + blocksPerRequest(layout, g.sliding, len, maxNumBatchedTokens), 0);
  return blocks / perRequest;
}
