/**
 * Types of the catalog tables. The tables themselves are data (gpus.ts, instances.ts,
 * models.ts, quantization.ts); each number carries its source beside it.
 */

/** GPU ids as the catalog keys them. A spec names GPUs by `name` or any of `aliases`. */
export type GpuId =
  | "H100-SXM"
  | "A100-40GB"
  | "A100-80GB"
  | "A100-80GB-PCIe"
  | "L40S"
  | "A10G"
  | "L4"
  | "T4"
  | "RTX-3090"
  | "RTX-4090"
  | "RTX-5070-Ti"
  | "RTX-5090";

export interface Gpu {
  id: GpuId;
  /** Marketing name, e.g. "NVIDIA L40S". */
  name: string;
  /** Names a spec may use for this GPU, e.g. ["RTX 5070 Ti", "5070 Ti"]; matched case-insensitively. */
  aliases: string[];
  /** Memory as nvidia-smi reports it (memory.total), in MiB (A100-40GB: CUDA deviceQuery's, the only figure found). llama.cpp/Ollama fits are planned against it. */
  memoryMiB: number;
  /** Where memoryMiB comes from. */
  memorySource: string;
  /**
   * Total memory as CUDA reports it (cudaMemGetInfo / torch total_memory), in bytes: what vLLM's
   * gpu_memory_utilization multiplies. Smaller than nvidia-smi's total by what the driver reserves.
   */
  cudaTotalBytes: number;
  /** Where cudaTotalBytes comes from: a measurement, a log, or how it is derived. */
  cudaTotalSource: string;
  /** Memory bandwidth, GB/s (10^9 bytes per second). */
  bandwidthGBs: number;
  /** Dense BF16 tensor TFLOPS; null when no source gave it. */
  bf16Tflops: number | null;
  /** Hardware FP8 (Ada, Hopper, Blackwell): vLLM fp8 weights and fp8 KV cache run natively. */
  fp8: boolean;
  /** CUDA compute capability (NVIDIA's CUDA GPUs list): vLLM's Marlin kernels (AWQ/GPTQ) need ≥ 8.0. */
  computeCapability: number;
  /**
   * Tensor-parallel peers are reached over NVLink / NVSwitch (the SXM boards of p4d, p4de, p5): NCCL's
   * P2P transport then opens many channels with their buffers in GPU memory. PCIe boards keep almost none
   * there (vllm-memory.ts TP_COLLECTIVE_BYTES_PER_RANK).
   */
  nvlink: boolean;
  sources: string[];
}

/** AWS GPU instance families in the catalog. */
export type InstanceFamily = "g5" | "g6" | "g6e" | "p4d" | "p4de" | "p5";

export interface InstanceType {
  instanceType: string;
  family: InstanceFamily;
  gpu: GpuId;
  gpuCount: number;
  vcpu: number;
  memoryGiB: number;
  /** On-demand USD per hour in us-east-1. */
  onDemandUSDPerHour: number;
  /** Where the price comes from (reference/aws-instances.json priceSource + priceDate). */
  priceSource: string;
}

/** A transformer's shape, as config.json gives it (names in camelCase). */
export interface ModelArch {
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** config `head_dim` when set (Qwen3: 128 while hidden/heads = 80), else hidden / heads. */
  headDim: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Mixture of experts: every layer's MLP is `numExperts` experts of `expertIntermediateSize`, `expertsPerToken` active. */
  moe?: { numExperts: number; expertsPerToken: number; expertIntermediateSize: number };
  /** Multi-head latent attention (DeepSeek-V2/V3): KV is one compressed vector per layer. */
  mla?: { kvLoraRank: number; qkRopeHeadDim: number };
  /**
   * Sliding-window attention on some layers: layer i attends to the last `window` tokens unless
   * (i + 1) is a multiple of `fullEvery` (gpt-oss: every other layer, fullEvery 2; Gemma 3:
   * sliding_window_pattern 6). vLLM keeps only the window's blocks for those layers.
   */
  slidingWindow?: { window: number; fullEvery: number };
}

export interface CatalogModel {
  /** Hugging Face repo id, the catalog key. */
  id: string;
  arch: ModelArch;
  /** Total parameters when a source states it (checked against the count derived from the shape). */
  statedParams?: number;
  /** vLLM implements pipeline parallelism for this architecture (SupportsPP). */
  supportsPipelineParallel: boolean;
  /** The checkpoint's own quantization_config (config.json): vLLM reads it; no --quantization is passed. */
  checkpointQuantization?: Quantization;
  /**
   * Block-wise FP8 checkpoints: quantization_config.weight_block_size [block_n, block_k] (one scale per block).
   * vLLM requires each TP rank's MLP / expert intermediate slice to be a whole number of blocks.
   */
  weightBlockSize?: [number, number];
  /** Not served here, and why: the planner refuses the model with this text (vision-language models). */
  unsupported?: string;
  notes?: string[];
  source: string;
}

/** Weight formats. GGUF names are the llama.cpp file types. */
export const QUANTIZATION_IDS = [
  "bf16", "fp16", "fp8", "awq", "gptq", "mxfp4", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q3_K_M", "Q2_K",
] as const;
export type Quantization = (typeof QUANTIZATION_IDS)[number];

export type QuantizationKind = "hf" | "gguf";

export interface QuantizationFormat {
  id: Quantization;
  kind: QuantizationKind;
  /** Bits per weight of the quantized linear layers, group overhead included. */
  linearBitsPerWeight: number;
  /** Bits per weight of the token embeddings and the output head. */
  embeddingBitsPerWeight: number;
  /** vLLM `--quantization` value; null = none (unquantized or read from the checkpoint's config). */
  vllmQuantization: string | null;
  /** Needs hardware FP8 (vLLM fp8 weights). */
  needsFp8Hardware: boolean;
  /** Lowest CUDA compute capability vLLM's kernels for this format accept (its get_min_capability). */
  minComputeCapability?: number;
  /** Only the MoE experts are quantized; attention, router, embeddings and lm_head stay 16-bit (gpt-oss MXFP4). */
  expertsOnly?: boolean;
  /** Formats that exist only as pre-quantized checkpoints: vLLM cannot quantize to them when loading. */
  checkpointOnly?: boolean;
  source: string;
}

/** KV cache element types across engines ("auto" = the model's own dtype). */
export const KV_CACHE_DTYPE_IDS = ["auto", "fp16", "bf16", "fp8", "q8_0", "q4_0"] as const;
export type KvCacheDtype = (typeof KV_CACHE_DTYPE_IDS)[number];
