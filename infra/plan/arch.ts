/**
 * A model's shape and what it weighs: parameter counts per part, bytes at a quantization,
 * KV bytes per token. Pure arithmetic over the architecture (config.json fields).
 */
import type { KvCacheDtype, ModelArch, Quantization } from "../catalog/types";
import { QUANTIZATIONS, KV_CACHE_DTYPE_BYTES } from "../catalog/quantization";

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/** Attention projections of one decoder layer: q and o are heads × head_dim wide, k and v kv_heads × head_dim. */
function attentionParams(a: ModelArch): number {
  const q = a.hiddenSize * a.numAttentionHeads * a.headDim;
  const kv = 2 * a.hiddenSize * a.numKeyValueHeads * a.headDim;
  const o = a.numAttentionHeads * a.headDim * a.hiddenSize;
  return q + kv + o;
}

/** The MoE router of one layer (hidden × experts), 0 for a dense model. */
function routerParams(a: ModelArch): number {
  return a.moe ? a.hiddenSize * a.moe.numExperts : 0;
}

/** Expert (or dense MLP) matrices of one layer: gate, up and down projections. */
function expertParams(a: ModelArch, activeOnly: boolean): number {
  if (!a.moe) return 3 * a.hiddenSize * a.intermediateSize;
  const experts = activeOnly ? a.moe.expertsPerToken : a.moe.numExperts;
  return experts * 3 * a.hiddenSize * a.moe.expertIntermediateSize;
}

/** Linear (quantizable) parameters of one decoder layer. */
export function layerLinearParams(a: ModelArch, activeOnly = false): number {
  return attentionParams(a) + expertParams(a, activeOnly) + routerParams(a);
}

/** Norm weights of one layer: stay 16-bit in every format. */
function layerNormParams(a: ModelArch): number {
  return 2 * a.hiddenSize;
}

export function embeddingParams(a: ModelArch): number {
  return a.vocabSize * a.hiddenSize;
}

/** Total parameters (tied embeddings counted once). */
export function totalParams(a: ModelArch): number {
  const head = a.tieWordEmbeddings ? 0 : embeddingParams(a);
  return a.numLayers * (layerLinearParams(a) + layerNormParams(a)) + embeddingParams(a) + head + a.hiddenSize;
}

/** Bytes of each part of the model at a quantization. */
export interface WeightBytes {
  /** One decoder layer (all experts). */
  layer: number;
  /** What one layer reads per decoded token (active experts only for MoE). */
  layerActive: number;
  embeddings: number;
  /** Final norm + lm_head (an own copy even when tied: the last pipeline stage/GPU needs it). */
  lmHead: number;
}

/**
 * How a kernel lays the expert matrices out in GPU memory when it pads them: hidden size and the
 * per-rank intermediate size rounded up to these multiples (vLLM mxfp4.py create_weights, per backend).
 */
export interface ExpertPadding {
  hiddenAlign: number;
  intermediateAlign: number;
  tensorParallel: number;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * Bytes per part. Quantized formats shrink the linear layers (only the experts for an experts-only
 * format such as MXFP4); embeddings and lm_head keep the format's embedding width (AWQ/GPTQ/FP8 keep
 * them 16-bit: memory-math.md §e). When the real file size is known (GGUF), every part is scaled to
 * match it. `padding` gives the in-memory expert layout of a kernel that pads (all TP ranks together).
 */
export function weightBytes(a: ModelArch, quantization: Quantization, knownFileBytes?: number, padding?: ExpertPadding): WeightBytes {
  const q = QUANTIZATIONS[quantization];
  const normBytes = layerNormParams(a) * 2;
  const otherBits = q.expertsOnly && a.moe ? 16 : q.linearBitsPerWeight;
  const expertBytes = (activeOnly: boolean): number => {
    let params = expertParams(a, activeOnly);
    if (padding && a.moe) {
      const tp = padding.tensorParallel;
      const inter = roundUp(a.moe.expertIntermediateSize / tp, padding.intermediateAlign) * tp;
      params = (activeOnly ? a.moe.expertsPerToken : a.moe.numExperts) * 3 * roundUp(a.hiddenSize, padding.hiddenAlign) * inter;
    }
    return (params * q.linearBitsPerWeight) / 8;
  };
  const rest = ((attentionParams(a) + routerParams(a)) * otherBits) / 8 + normBytes;
  let layer = expertBytes(false) + rest;
  let layerActive = expertBytes(true) + rest;
  let embeddings = (embeddingParams(a) * q.embeddingBitsPerWeight) / 8;
  let lmHead = (embeddingParams(a) * q.embeddingBitsPerWeight) / 8 + a.hiddenSize * 2;
  if (knownFileBytes) {
    const computed = a.numLayers * layer + embeddings + (a.tieWordEmbeddings ? 0 : lmHead);
    const scale = knownFileBytes / computed;
    layer *= scale;
    layerActive *= scale;
    embeddings *= scale;
    lmHead *= scale;
  }
  return { layer, layerActive, embeddings, lmHead };
}

/** Whole checkpoint size (what is downloaded): layers + embeddings + lm_head unless tied. */
export function checkpointBytes(a: ModelArch, w: WeightBytes): number {
  return a.numLayers * w.layer + w.embeddings + (a.tieWordEmbeddings ? 0 : w.lmHead);
}

export function kvDtypeBytes(dtype: KvCacheDtype): number {
  return KV_CACHE_DTYPE_BYTES[dtype];
}

/**
 * KV bytes per token of one layer holding `kvHeads` KV heads: K and V, each kv_heads × head_dim
 * elements (memory-math.md §a.7; MLA models would store one compressed vector instead).
 */
export function kvBytesPerTokenPerLayer(a: ModelArch, kvHeads: number, dtype: KvCacheDtype): number {
  if (a.mla) return (a.mla.kvLoraRank + a.mla.qkRopeHeadDim) * kvDtypeBytes(dtype);
  return 2 * kvHeads * a.headDim * kvDtypeBytes(dtype);
}

/** KV bytes per token of the whole model: all layers, all KV heads (Llama-3.1-8B fp16: 131072). */
export function kvBytesPerToken(a: ModelArch, dtype: KvCacheDtype): number {
  return a.numLayers * kvBytesPerTokenPerLayer(a, a.numKeyValueHeads, dtype);
}

export const toGiB = (bytes: number): number => bytes / GiB;
export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;
