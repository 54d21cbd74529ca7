/**
 * FleetSpec: the one description of a fleet, read from `llm-fleet:fleet` in Pulumi config or a
 * YAML file. Shape checks live here (zod); cross-references (a replica naming a node that does
 * not exist, a fallback naming an unknown model) live in validate.ts; capacity checks live in
 * the planner.
 */
import { z } from "zod";
import { KV_CACHE_DTYPE_IDS, QUANTIZATION_IDS } from "../catalog/types";
import { KeyQuota, UpstreamLimits } from "./usage";

/** DNS-label names: they become host names, file names, systemd units and Pulumi resource names. */
const name = z
  .string()
  .regex(/^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/, "use up to 42 lower-case letters, digits and dashes, starting with a letter (e.g. \"gpu-a\")");

/** The name clients send in `model`; also used in URLs and the registry. */
const modelId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "use letters, digits and . _ : / - (e.g. \"qwen3-32b\")");

const secretName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, "use lower-case letters, digits and dashes (it becomes LLM_FLEET_SECRET_<NAME> and a Secrets Manager entry)");

const positiveInt = z.number().int().positive();

export const CpuSpec = z.strictObject({
  /** Cores the engine may use for CPU-resident layers. */
  cores: positiveInt,
  /** System RAM in GiB. */
  memoryGiB: z.number().positive(),
  /** System memory bandwidth in GB/s (e.g. dual-channel DDR5-5600 ≈ 89.6). Bounds CPU decode speed. */
  bandwidthGBs: z.number().positive(),
});

const nodeCommon = {
  name,
  cpu: CpuSpec.optional(),
  /** Extra labels for the node (tags on AWS). */
  labels: z.record(z.string(), z.string()).optional(),
};

export const AwsNodeSpec = z.strictObject({
  ...nodeCommon,
  provider: z.literal("aws"),
  /** EC2 instance type, e.g. "g6e.xlarge". */
  instanceType: z.string(),
  /** Run on spot capacity (cheaper, can be reclaimed). @default false */
  spot: z.boolean().optional(),
  /** Root volume size; the planner sizes it from the weights when unset. */
  rootVolumeGiB: positiveInt.optional(),
});

const hostNodeCommon = {
  ...nodeCommon,
  /** GPUs in the box by catalog name, e.g. ["RTX 5070 Ti", "RTX 4090"]; [] for CPU-only. */
  gpus: z.array(z.string()),
  /** Address the gateway uses to reach the engines (defaults to the host part of `host`). */
  address: z.string().optional(),
  /** What the machine costs per hour, if you want it in the totals. @default 0 */
  costPerHourUSD: z.number().nonnegative().optional(),
  /**
   * VRAM per GPU that other programs already hold on this machine (a desktop's display and
   * compositor typically take 300–1000 MiB): the engines plan around it. @default 0
   */
  gpuMemoryInUseMiB: z.number().int().nonnegative().optional(),
};

export const SshNodeSpec = z.strictObject({
  ...hostNodeCommon,
  provider: z.literal("ssh"),
  /** SSH destination, "user@host" or "host". */
  host: z.string().min(1),
  /** @default 22 */
  port: positiveInt.optional(),
});

export const DockerNodeSpec = z.strictObject({
  ...hostNodeCommon,
  provider: z.literal("docker"),
  /** Docker daemon, "unix:///var/run/docker.sock" or "ssh://user@host". */
  host: z.string().regex(/^(unix|ssh|tcp):\/\//, "use unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376"),
});

export const NodeSpec = z.discriminatedUnion("provider", [AwsNodeSpec, SshNodeSpec, DockerNodeSpec]);

export const ENGINES = ["vllm", "llamacpp", "ollama", "external"] as const;
export type Engine = (typeof ENGINES)[number];
export type ServedEngine = Exclude<Engine, "external">;


/** An architecture given inline, for a model the catalog does not know (fields as in config.json). */
export const InlineArch = z.strictObject({
  numLayers: positiveInt,
  hiddenSize: positiveInt,
  intermediateSize: positiveInt,
  numAttentionHeads: positiveInt,
  numKeyValueHeads: positiveInt,
  headDim: positiveInt.optional(),
  vocabSize: positiveInt,
  maxPositionEmbeddings: positiveInt,
  tieWordEmbeddings: z.boolean().optional(),
  moe: z
    .strictObject({ numExperts: positiveInt, expertsPerToken: positiveInt, expertIntermediateSize: positiveInt })
    .optional(),
});

export const WeightsSource = z.union([
  z.strictObject({ hf: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "use a Hugging Face repo id, \"owner/name\""), revision: z.string().optional() }),
  z.strictObject({
    gguf: z.strictObject({ repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "use a Hugging Face repo id"), file: z.string().regex(/\.gguf$/, "name a .gguf file") }),
  }),
  z.strictObject({ ollama: z.string().regex(/^[\w.\/-]+(:[\w.-]+)?$/, "use an Ollama tag such as deepseek-coder:33b") }),
]);

export const Sampling = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  topK: z.number().int().min(-1).optional(),
  minP: z.number().min(0).max(1).optional(),
  repetitionPenalty: z.number().positive().optional(),
  presencePenalty: z.number().min(-2).max(2).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
});

export const Display = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
  /** What the model is for, for UIs and the registry: "chat", "code", "sql", "reasoning", "tools" … */
  capabilities: z.array(z.string()).optional(),
});

export const Replica = z.strictObject({
  /** Nodes of this replica, one pipeline stage each, in order. */
  nodes: z.array(name).min(1),
  /** Indices of the node's GPUs to use (one-node replicas only). @default all GPUs of the node */
  gpus: z.array(z.number().int().nonnegative()).min(1).optional(),
  /** Layers per pipeline stage (vLLM: VLLM_PP_LAYER_PARTITION). Validated, never trusted. */
  layerSplit: z.array(positiveInt).optional(),
  /** Share of traffic relative to the other replicas. @default 1 */
  weight: positiveInt.optional(),
});

const modelCommon = {
  id: modelId,
  aliases: z.array(modelId).optional(),
  display: Display.optional(),
  sampling: Sampling.optional(),
  systemPrompt: z.string().optional(),
  /** Largest `max_tokens` a client may ask for; the gateway answers 400 above it. */
  maxOutputTokens: positiveInt.optional(),
  /** What this model's upstream allows (provider request limits, a timeout), applied wherever it serves as a tier. */
  limits: UpstreamLimits.optional(),
};

export const ServedModelSpec = z.strictObject({
  ...modelCommon,
  engine: z.enum(["vllm", "llamacpp", "ollama"]),
  source: WeightsSource,
  /** Catalog key (a Hugging Face repo id) or an inline architecture. @default the `hf` source repo */
  arch: z.union([z.string(), InlineArch]).optional(),
  quantization: z.enum(QUANTIZATION_IDS).optional(),
  kvCacheDtype: z.enum(KV_CACHE_DTYPE_IDS).optional(),
  /** Tokens per sequence. @default the largest that fits (capped at the model's maximum) */
  contextLength: positiveInt.optional(),
  /** Sequences served at once (llama.cpp --parallel, Ollama OLLAMA_NUM_PARALLEL, vLLM --max-num-seqs cap). */
  concurrency: positiveInt.optional(),
  /** vLLM --gpu-memory-utilization. @default the engine version's default (0.92 since vLLM 0.21.0, 0.9 before) */
  gpuMemoryUtilization: z.number().gt(0).max(0.98).optional(),
  /** vLLM version to run and plan memory for, e.g. "0.16.0" (an older pinned image). @default the pinned image's version */
  engineVersion: z.string().optional(),
  replicas: z.array(Replica).min(1),
});

export const ExternalModelSpec = z.strictObject({
  ...modelCommon,
  engine: z.literal("external"),
  /** OpenAI-compatible base URL, e.g. https://api.openai.com/v1 */
  url: z.url({ protocol: /^https?$/ }),
  /** The model name the provider expects. */
  upstreamModel: z.string().min(1),
  /** Name of the secret holding the provider's key (LLM_FLEET_SECRET_<NAME>, Pulumi secret config). */
  apiKeySecret: secretName.optional(),
  contextLength: positiveInt.optional(),
});

export const ModelSpec = z.discriminatedUnion("engine", [ServedModelSpec, ExternalModelSpec]);

export const RateClass = z.strictObject({
  requestsPerMinute: positiveInt,
  burst: z.number().int().nonnegative(),
  /** Requests in flight at once per key. */
  concurrency: positiveInt,
});

export const GatewayKey = z.strictObject({
  /** Models this key may use (ids); ["*"] for all. */
  models: z.array(z.string()).min(1),
  rateClass: z.string(),
  /** Daily and monthly request and token quotas (UTC calendar windows); none = unlimited. Needs gateway.metering. */
  quota: KeyQuota.optional(),
  /** May read any key's usage (GET /v1/usage?key=NAME). @default false */
  admin: z.boolean().optional(),
});

export const GatewaySpec = z.strictObject({
  /** Public host name, e.g. "llm.example.com" (used in the gateway URL and TLS). */
  domain: z.string().optional(),
  /** Where the gateway runs: "aws" (a small instance) or the name of a docker node. @default "aws" */
  host: z.string().optional(),
  /** CIDRs allowed to reach the gateway. */
  allowedCidrs: z.array(z.string()).optional(),
  keys: z.record(name, GatewayKey),
  rateClasses: z.record(name, RateClass),
  perIp: z.strictObject({ requestsPerMinute: positiveInt, burst: z.number().int().nonnegative() }),
  /** Path routes: "/text2sql" → a model id. */
  routes: z.record(z.string().regex(/^\/[a-z0-9/_-]+$/, "use a path such as /text2sql"), z.string()).optional(),
  corsOrigins: z.array(z.string()).optional(),
  /** Largest request body, in MiB. @default 8 */
  maxBodyMiB: z.number().positive().optional(),
  /** Time allowed for the first byte of a reply, in seconds (slow first tokens). @default 300 */
  readTimeoutSeconds: positiveInt.optional(),
  /**
   * Count every request's tokens and times per key (usage log, GET /v1/usage, /metrics). Quotas
   * and upstream request limits need it. @default false
   */
  metering: z.boolean().optional(),
  /** CIDRs allowed to scrape the gateway's /metrics listener (on AWS, its own port). @default none */
  metricsCidrs: z.array(z.string()).optional(),
  /** PEM certificate secret names; unset = self-signed. */
  tls: z.strictObject({ certificateSecret: secretName, keySecret: secretName }).optional(),
});

export const FleetSpec = z.strictObject({
  /** Short name of the fleet; prefixes resource names and tags. */
  name,
  /** AWS region for aws nodes. @default "us-east-1" */
  region: z.string().optional(),
  /** Existing VPC id; a new VPC is created when unset. */
  vpcId: z.string().optional(),
  /** Name of the secret holding a Hugging Face token (gated models). */
  hfTokenSecret: secretName.optional(),
  nodes: z.array(NodeSpec),
  models: z.array(ModelSpec).min(1),
  /** Ordered failover tiers per model id: each entry is another model id (fleet or external). */
  fallbacks: z.record(z.string(), z.array(z.string()).min(1)).optional(),
  gateway: GatewaySpec,
});

export type FleetSpec = z.infer<typeof FleetSpec>;
export type NodeSpec = z.infer<typeof NodeSpec>;
export type AwsNodeSpec = z.infer<typeof AwsNodeSpec>;
export type SshNodeSpec = z.infer<typeof SshNodeSpec>;
export type DockerNodeSpec = z.infer<typeof DockerNodeSpec>;
export type ModelSpec = z.infer<typeof ModelSpec>;
export type ServedModelSpec = z.infer<typeof ServedModelSpec>;
export type ExternalModelSpec = z.infer<typeof ExternalModelSpec>;
export type ReplicaSpec = z.infer<typeof Replica>;
export type InlineArch = z.infer<typeof InlineArch>;
export type WeightsSource = z.infer<typeof WeightsSource>;
export type SamplingSpec = z.infer<typeof Sampling>;
export type GatewaySpec = z.infer<typeof GatewaySpec>;
export type RateClassSpec = z.infer<typeof RateClass>;
