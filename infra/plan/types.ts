/**
 * FleetPlan: what the planner decided, consumed by the renderers, the gateway, the Pulumi
 * program, the registry and `fleet plan --json`. Pure data (JSON-serialisable).
 */
import type { CpuPlan } from "./nodes";
import type { GpuId, KvCacheDtype, ModelArch, Quantization } from "../catalog/types";
import type {
  ExternalModelSpec,
  FleetSpec,
  GatewaySpec,
  NodeSpec,
  SamplingSpec,
  ServedEngine,
  WeightsSource,
} from "../spec/schema";

export interface StagePlan {
  node: string;
  /** Indices of the node's GPUs this stage uses; [] = CPU only. */
  gpus: number[];
  gpuModel: GpuId | null;
  /** Decoder layers of this stage, [start, end). */
  layers: [number, number];
  /** Token embeddings live here (vLLM: first stage). */
  holdsEmbeddings: boolean;
  /** Final norm + lm_head live here (vLLM: last stage). */
  holdsLmHead: boolean;
  /** Weights on each GPU of the stage (TP shards are equal). */
  weightsGiBPerGpu: number;
  /** KV cache allocated on each GPU of the stage. */
  kvCacheGiBPerGpu: number;
  /** Memory the engine may use on each GPU (vLLM: utilization × total). */
  budgetGiBPerGpu: number;
}

export interface VllmSettings {
  /** The vLLM version whose memory accounting this plan follows (catalog/vllm-versions.ts). */
  engineVersion: string;
  /** The container image of that version. */
  image: string;
  gpuMemoryUtilization: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** --quantization value, null = none. */
  quantization: string | null;
  /** --kv-cache-dtype value. */
  kvCacheDtype: string;
  /** Estimated activation peak of the profile run, per GPU (GiB). */
  activationPeakGiB: number;
  /** Estimated non-torch memory (NCCL, cuBLAS workspaces), per GPU (GiB). */
  nonTorchGiB: number;
  /** CUDA-graph memory taken out of the KV budget (v0.21+), per GPU (GiB); 0 where graphs live beside it. */
  cudaGraphGiB: number;
  /** "Available KV cache memory" vLLM logs on the tightest worker (GiB). */
  availableKvGiBPerGpu: number;
  /** Variables that would change this accounting, as the plan takes them (the image's defaults), e.g. "VLLM_USE_FLASHINFER_SAMPLER unset: Triton top-k/top-p (1: FlashInfer)". */
  environment: string[];
}

export interface LlamaCppSettings {
  /** -ngl: layers in VRAM, counting the output layer as one (n_layer + 1 = all). */
  nGpuLayers: number;
  /** -ts proportions per GPU (layers per GPU); [] on one GPU or CPU. */
  tensorSplit: number[];
  /** --ctx-size: total cells for all slots (= parallel × per-slot context). */
  ctxSize: number;
  /** --parallel slots. */
  parallel: number;
  /** --threads; null = llama.cpp picks (the spec does not describe the CPU). */
  threads: number | null;
  batchSize: number;
  ubatchSize: number;
  /** --cache-type-k / -v value. */
  cacheType: string;
  /** Quantized V cache needs flash attention (llama-server-observed.md §7). */
  flashAttention: boolean;
}

export interface OllamaSettings {
  /** PARAMETER num_gpu: layers on the GPU, output layer counted (BlockCount + 1 = all). */
  numGpu: number;
  /** PARAMETER num_ctx: context per sequence. */
  numCtx: number;
  /** OLLAMA_NUM_PARALLEL. */
  numParallel: number;
  /** OLLAMA_KV_CACHE_TYPE value. */
  kvCacheType: string;
  flashAttention: boolean;
}

export interface ReplicaPlan {
  index: number;
  nodes: string[];
  stages: StagePlan[];
  tensorParallel: number;
  pipelineParallel: number;
  /** Decoder layers per stage. */
  layerSplit: number[];
  /** Weights of the whole replica (GPU and CPU). */
  weightsGiB: number;
  /** KV bytes per token for the whole model at the chosen KV dtype (all layers, all KV heads). */
  kvBytesPerToken: number;
  /** KV cache of the replica, all GPUs (and RAM for CPU layers). */
  kvCacheGiB: number;
  /** Tokens the KV cache holds (vLLM: blocks × block size, bounded by the smallest worker). */
  kvCacheTokens: number;
  /** Tokens per sequence (vLLM --max-model-len, llama.cpp per-slot context, Ollama num_ctx). */
  contextLength: number;
  /** Sequences of full context that fit at once. */
  maxConcurrentSequences: number;
  /** Layers in VRAM and in all, as the engine counts them (llama.cpp/Ollama add the output layer). */
  gpuLayers: number;
  totalLayers: number;
  /** Share of the footprint (weights + KV + buffers) in VRAM, as `ollama ps` reports it. */
  gpuFraction: number;
  /** Single-stream decode upper bound from memory bandwidth. */
  decodeTokensPerSecond: number;
  costPerHourUSD: number;
  /** Where the engine listens (on the first stage's node). */
  endpoint: { node: string; host: string; port: number };
  /** Load-balancing weight. */
  weight: number;
  /** Decisions the planner made that the spec left open (shown by `fleet plan`). */
  notes: string[];
  vllm?: VllmSettings;
  llamacpp?: LlamaCppSettings;
  ollama?: OllamaSettings;
}

export interface ServedModelPlan {
  id: string;
  engine: ServedEngine;
  aliases: string[];
  source: WeightsSource;
  /** Catalog key or "inline". */
  archSource: string;
  arch: ModelArch;
  quantization: Quantization;
  kvCacheDtype: KvCacheDtype;
  /** Engine version the plan is for (vLLM); null for engines planned without a version. */
  engineVersion: string | null;
  /** Smallest context over the replicas: what clients can count on. */
  contextLength: number;
  maxOutputTokens: number;
  sampling: SamplingSpec;
  systemPrompt?: string;
  display: { name: string; description?: string; tags: string[]; capabilities: string[] };
  replicas: ReplicaPlan[];
  /** Failover tiers after this model's own replicas, by model id. */
  tiers: string[];
  /** The tiers (ids in `tiers`) that serve every key of this model (`anyKey: true`); the others only keys allowed their model. */
  anyKeyTiers: string[];
  costPerHourUSD: number;
}

export interface ExternalModelPlan {
  id: string;
  engine: "external";
  aliases: string[];
  url: string;
  upstreamModel: string;
  apiKeySecret?: string;
  contextLength: number | null;
  maxOutputTokens: number | null;
  sampling: SamplingSpec;
  systemPrompt?: string;
  display: { name: string; description?: string; tags: string[]; capabilities: string[] };
  replicas: [];
  tiers: string[];
  anyKeyTiers: string[];
  /** Billed by the provider per token, not per hour: 0 here. */
  costPerHourUSD: number;
  spec: ExternalModelSpec;
}

export type ModelPlan = ServedModelPlan | ExternalModelPlan;

export interface NodePlan {
  name: string;
  provider: NodeSpec["provider"];
  spec: NodeSpec;
  /** GPUs by catalog id, index = GPU index on the node. */
  gpus: GpuId[];
  /** Host the gateway uses to reach this node's engines. */
  address: string;
  instanceType?: string;
  /** null when the spec does not describe the CPU side of a GPU host. */
  cpu: CpuPlan | null;
  costPerHourUSD: number;
  /** Replicas (or stages of replicas) placed here. */
  placements: { model: string; engine: ServedEngine; replica: number; stage: number; port: number; gpus: number[] }[];
  /** Root disk for the OS, images and the weights cache. */
  diskGiB: number;
}

export interface FleetPlan {
  name: string;
  region: string;
  spec: FleetSpec;
  models: ModelPlan[];
  nodes: NodePlan[];
  /** null: the spec has no gateway yet (planning works; render, gateway and deploy say it is missing). */
  gateway: GatewaySpec | null;
  totals: { costPerHourUSD: number; gpus: number; models: number; replicas: number; nodes: number };
}

