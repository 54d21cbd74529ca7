/**
 * FleetSpec: the one description of a fleet, read from `llm-fleet:fleet` in Pulumi config or a
 * YAML file. Shape checks and static defaults live here (zod: a `.default()` is the one home of a
 * default, and the JSON Schema shows it); cross-references (a replica naming a node that does not
 * exist) are the rules in rules/; defaults that depend on other fields are filled by
 * normalize.ts; capacity checks live in the planner. Every field carries its description and an
 * example (`doc`): editors show them through schema/fleet-spec.schema.json.
 */
import { z } from "zod";
import { KV_CACHE_DTYPE_IDS, QUANTIZATION_IDS } from "../catalog/types";
import { DEFAULT_VLLM_VERSION, VLLM_VERSIONS } from "../catalog/vllm-versions";
import { caseInsensitiveEnum, doc, modelId, name, positiveInt, secretName } from "./fields";
import { KeyQuota, UpstreamLimits } from "./usage";

export const CpuSpec = z.strictObject({
  cores: doc(positiveInt, "CPU cores the engine may use for layers kept in RAM.", 8),
  memoryGiB: doc(z.number().positive(), "System RAM in GiB.", 32),
  bandwidthGBs: doc(
    z.number().positive().optional(),
    "System memory bandwidth in GB/s: bounds CPU decode speed (dual-channel DDR5-5600 ≈ 89.6, DDR4-3200 ≈ 51.2). Unset: the plan assumes a documented figure per host kind and says so.",
    89.6,
  ),
});

const nodeCommon = {
  name: doc(name, "Name of the node: a DNS label; it becomes a host name, file names and resource names.", "gpu-a"),
  cpu: doc(CpuSpec.optional(), "The CPU side of the machine; needed when layers or a whole model run on the CPU.", { cores: 8, memoryGiB: 32, bandwidthGBs: 51.2 }),
  labels: doc(z.record(z.string(), z.string()).default(() => ({})), "Extra labels for the node (tags on AWS).", { team: "ml" }),
};

export const AwsNodeSpec = z.strictObject({
  ...nodeCommon,
  provider: doc(z.literal("aws"), "An EC2 instance the stack creates.", "aws"),
  instanceType: doc(z.string(), "EC2 GPU instance type (g5, g6, g6e, p4d, p4de, p5 families).", "g6e.xlarge"),
  spot: doc(z.boolean().default(false), "Run on spot capacity (cheaper, can be reclaimed).", true),
  rootVolumeGiB: doc(positiveInt.optional(), "Root volume size in GiB. Unset: sized from the weights the node downloads.", 200),
});

const hostNodeCommon = {
  ...nodeCommon,
  gpus: doc(z.array(z.string()), "GPUs in the box by catalog name; [] for a CPU-only box.", ["RTX 4090"]),
  address: doc(z.string().optional(), "Address the gateway uses to reach the engines. Unset: the host part of `host` (127.0.0.1 for a local Docker socket).", "10.0.0.12"),
  costPerHourUSD: doc(z.number().nonnegative().default(0), "What the machine costs per hour, if you want it in the totals.", 0.35),
  gpuMemoryInUseMiB: doc(
    z.number().int().nonnegative().default(0),
    "VRAM per GPU that other programs already hold on this machine (a desktop's display and compositor typically take 300–1000 MiB): the engines plan around it.",
    600,
  ),
};

export const SshNodeSpec = z.strictObject({
  ...hostNodeCommon,
  provider: doc(z.literal("ssh"), "A machine you own, set up over SSH (Docker Compose + systemd).", "ssh"),
  host: doc(z.string().min(1), 'SSH destination, "user@host" or "host".', "ops@10.0.0.12"),
  port: doc(positiveInt.default(22), "SSH port.", 2222),
});

export const DockerNodeSpec = z.strictObject({
  ...hostNodeCommon,
  provider: doc(z.literal("docker"), "A machine you own, driven through its Docker daemon.", "docker"),
  host: doc(
    z.string().regex(/^(unix|ssh|tcp):\/\//, "use unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376"),
    "Docker daemon address.",
    "ssh://ops@192.168.1.40",
  ),
});

export const NodeSpec = z.discriminatedUnion("provider", [AwsNodeSpec, SshNodeSpec, DockerNodeSpec]);

export const ENGINES = ["vllm", "llamacpp", "ollama", "external"] as const;
export type Engine = (typeof ENGINES)[number];
export type ServedEngine = Exclude<Engine, "external">;

/** An architecture given inline, for a model the catalog does not know (fields as in config.json). */
export const InlineArch = z.strictObject({
  numLayers: doc(positiveInt, "config.json num_hidden_layers.", 32),
  hiddenSize: doc(positiveInt, "config.json hidden_size.", 4096),
  intermediateSize: doc(positiveInt, "config.json intermediate_size.", 14336),
  numAttentionHeads: doc(positiveInt, "config.json num_attention_heads.", 32),
  numKeyValueHeads: doc(positiveInt, "config.json num_key_value_heads.", 8),
  headDim: doc(positiveInt.optional(), "config.json head_dim. Unset: hiddenSize / numAttentionHeads.", 128),
  vocabSize: doc(positiveInt, "config.json vocab_size.", 128256),
  maxPositionEmbeddings: doc(positiveInt, "config.json max_position_embeddings.", 131072),
  tieWordEmbeddings: doc(z.boolean().optional(), "config.json tie_word_embeddings. Unset: false.", false),
  moe: doc(
    z
      .strictObject({
        numExperts: doc(positiveInt, "Experts per layer.", 8),
        expertsPerToken: doc(positiveInt, "Experts active per token.", 2),
        expertIntermediateSize: doc(positiveInt, "Intermediate size of one expert.", 14336),
      })
      .optional(),
    "Mixture of experts: every layer's MLP is numExperts experts. Unset: a dense model.",
    { numExperts: 8, expertsPerToken: 2, expertIntermediateSize: 14336 },
  ),
});

const hfRepo = z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'use a Hugging Face repo id, "owner/name"');
export const WeightsSource = z.union([
  z.strictObject({
    hf: doc(hfRepo, "Hugging Face repo with safetensors weights (vLLM).", "Qwen/Qwen3-32B-AWQ"),
    revision: doc(z.string().optional(), "Git revision of the repo. Unset: main.", "main"),
  }),
  z.strictObject({
    gguf: doc(
      z.strictObject({
        repo: doc(hfRepo, "Hugging Face repo holding the file.", "Qwen/Qwen2.5-7B-Instruct-GGUF"),
        file: doc(z.string().regex(/\.gguf$/, "name a .gguf file"), "The .gguf file in that repo.", "qwen2.5-7b-instruct-q4_k_m.gguf"),
      }),
      "A GGUF file on Hugging Face (llama.cpp, Ollama).",
      { repo: "Qwen/Qwen2.5-7B-Instruct-GGUF", file: "qwen2.5-7b-instruct-q4_k_m.gguf" },
    ),
  }),
  z.strictObject({
    ollama: doc(z.string().regex(/^[\w./-]+(:[\w.-]+)?$/, "use an Ollama tag such as deepseek-coder:33b"), "An Ollama library tag.", "deepseek-coder:33b"),
  }),
]);

export const Sampling = z.strictObject({
  temperature: doc(z.number().min(0).max(2).optional(), "Default temperature when the client sends none. Unset: the engine's.", 0.7),
  topP: doc(z.number().gt(0).max(1).optional(), "Default top_p. Unset: the engine's.", 0.8),
  topK: doc(z.number().int().min(-1).optional(), "Default top_k (-1: off). Unset: the engine's.", 20),
  minP: doc(z.number().min(0).max(1).optional(), "Default min_p. Unset: the engine's.", 0),
  repetitionPenalty: doc(z.number().positive().optional(), "Default repetition penalty. Unset: the engine's.", 1.05),
  presencePenalty: doc(z.number().min(-2).max(2).optional(), "Default presence penalty. Unset: the engine's.", 0),
  frequencyPenalty: doc(z.number().min(-2).max(2).optional(), "Default frequency penalty. Unset: the engine's.", 0),
});

export const Display = z.strictObject({
  name: doc(z.string().min(1), "Human name of the model, for UIs and the registry.", "Qwen3 32B"),
  description: doc(z.string().optional(), "One line on what the model is good at. Unset: none.", "General chat and tool use"),
  tags: doc(z.array(z.string()).default(() => []), "Free-form tags for UIs.", ["fast"]),
  capabilities: doc(z.array(z.string()).default(() => []), 'What the model is for: "chat", "code", "sql", "reasoning", "tools" …', ["chat", "tools"]),
});

export const Replica = z.strictObject({
  nodes: doc(z.array(name).min(1), "Nodes of this replica, one pipeline stage each, in order.", ["gpu-a"]),
  gpus: doc(z.array(z.number().int().nonnegative()).min(1).optional(), "Indices of the node's GPUs to use (one-node replicas only). Unset: all GPUs of the node.", [0]),
  layerSplit: doc(z.array(positiveInt).optional(), "Layers per pipeline stage (vLLM VLLM_PP_LAYER_PARTITION); checked, never trusted. Unset: proportional to each stage's memory.", [23, 23, 22, 12]),
  weight: doc(positiveInt.default(1), "Share of traffic relative to the other replicas.", 2),
});

const modelCommon = {
  id: doc(modelId, "The name clients send in `model`.", "qwen3-32b"),
  aliases: doc(z.array(modelId).default(() => []), "Other names clients may send for this model.", ["qwen3"]),
  display: doc(Display.optional(), "How UIs and the registry show the model. Unset: its id as the name.", { name: "Qwen3 32B", capabilities: ["chat"] }),
  sampling: doc(Sampling.default(() => ({})), "Sampling defaults the gateway applies when a request leaves them out.", { temperature: 0.6, topP: 0.95 }),
  systemPrompt: doc(z.string().optional(), "System prompt put first when a request has none. Unset: none.", "You are a concise assistant."),
  maxOutputTokens: doc(positiveInt.optional(), "Largest max_tokens a client may ask for; the gateway answers 400 above it. Unset: the context length.", 4096),
  limits: doc(
    UpstreamLimits.optional(),
    "What this model's upstream allows (provider request limits, a timeout), applied wherever it serves as a tier. Unset: no limit of its own.",
    { requestsPerMinute: 30, requestsPerDay: 1000, timeoutSeconds: 20 },
  ),
};

/**
 * Weight formats in the spellings users meet: GGUF file names and Ollama tags write q4_k_m, vLLM
 * writes awq_marlin; the schema turns each into the catalog's id.
 */
export const Quantization = caseInsensitiveEnum(QUANTIZATION_IDS, { awq_marlin: "awq", gptq_marlin: "gptq", bfloat16: "bf16", float16: "fp16", f16: "fp16" });
/** KV cache types: llama.cpp and Ollama write f16, vLLM writes float16/bfloat16. */
export const KvCacheDtype = caseInsensitiveEnum(KV_CACHE_DTYPE_IDS, { f16: "fp16", float16: "fp16", bfloat16: "bf16" });

export const ServedModelSpec = z.strictObject({
  ...modelCommon,
  engine: doc(z.enum(["vllm", "llamacpp", "ollama"]), "Engine that serves the model on your nodes.", "vllm"),
  source: doc(WeightsSource, "Where the weights come from.", { hf: "Qwen/Qwen3-32B-AWQ" }),
  arch: doc(
    z.union([z.string(), InlineArch]).optional(),
    "Catalog key (a Hugging Face repo id) or an inline architecture. Unset: the catalog entry of the source.",
    "Qwen/Qwen2.5-7B-Instruct",
  ),
  quantization: doc(Quantization.optional(), "Weight format, any case (Q4_K_M, q4_k_m). Unset: what the source implies (-AWQ repo, GGUF file name, Ollama tag), else bf16.", "Q4_K_M"),
  kvCacheDtype: doc(KvCacheDtype.optional(), "KV cache element type, any case. Unset: auto (the model's own dtype).", "q8_0"),
  contextLength: doc(positiveInt.optional(), "Tokens per sequence. Unset: the largest that fits, capped at the model's maximum.", 32768),
  concurrency: doc(positiveInt.optional(), "Sequences served at once (llama.cpp --parallel, OLLAMA_NUM_PARALLEL, vLLM --max-num-seqs cap). Unset: chosen by the planner.", 4),
  gpuMemoryUtilization: doc(
    z.number().gt(0).max(0.98).optional(),
    "vLLM --gpu-memory-utilization. Unset: the engine version's default (0.92 since vLLM 0.21.0, 0.9 before).",
    0.9,
  ),
  engineVersion: doc(z.string().optional(), `vLLM version to run and plan memory for (an older pinned image): one of ${VLLM_VERSIONS.join(", ")}, the versions whose memory accounting the planner models from vLLM's source. Unset: the pinned image's version (${DEFAULT_VLLM_VERSION}).`, "0.16.0"),
  replicas: doc(z.array(Replica).min(1), "Copies of the model; each is one or more nodes.", [{ nodes: ["gpu-a"] }]),
});

export const ExternalModelSpec = z.strictObject({
  ...modelCommon,
  engine: doc(z.literal("external"), "An OpenAI-compatible service you do not run.", "external"),
  url: doc(z.url({ protocol: /^https?$/ }), "OpenAI-compatible base URL.", "https://api.openai.com/v1"),
  upstreamModel: doc(z.string().min(1), "The model name the provider expects.", "gpt-4o-mini"),
  apiKeySecret: doc(secretName.optional(), "Name of the secret holding the provider's key (Pulumi secret config; LLM_FLEET_SECRET_<NAME> locally). Unset: no key sent.", "openai-key"),
  contextLength: doc(positiveInt.optional(), "The provider's context length, for clients. Unset: unknown.", 128000),
});

export const ModelSpec = z.discriminatedUnion("engine", [ServedModelSpec, ExternalModelSpec]);

export const RateClass = z.strictObject({
  requestsPerMinute: doc(positiveInt, "Sustained requests per minute per key.", 120),
  burst: doc(z.number().int().nonnegative(), "Requests allowed above the rate in a burst.", 20),
  concurrency: doc(positiveInt, "Requests in flight at once per key.", 8),
});

export const GatewayKey = z.strictObject({
  models: doc(z.array(z.string()).min(1), 'Model ids this key may use; ["*"] for all.', ["qwen3-32b"]),
  rateClass: doc(z.string(), "Name of a rate class under gateway.rateClasses.", "standard"),
  quota: doc(
    KeyQuota.optional(),
    "Daily and monthly request and token quotas (UTC calendar windows); needs gateway.metering. Unset: unlimited.",
    { tokensPerDay: 10000000, requestsPerDay: 100000 },
  ),
  admin: doc(z.boolean().default(false), "May read any key's usage (GET /v1/usage?key=NAME).", true),
});

export const GatewaySpec = z.strictObject({
  domain: doc(z.string().optional(), "Public host name of the gateway (its URL and TLS name). Unset: the gateway's IP address.", "llm.example.com"),
  host: doc(z.string().default("aws"), 'Where the gateway runs: "aws" (a small instance) or the name of a docker node.', "aws"),
  allowedCidrs: doc(z.array(z.string()).default(() => ["0.0.0.0/0"]), "CIDRs allowed to reach the gateway on AWS (its security group). Unset: anyone; keys still apply. An empty list is refused (no one could reach it), and so is a list on a docker-hosted gateway (nothing applies it there).", ["203.0.113.0/24"]),
  keys: doc(z.record(name, GatewayKey), "Client keys by name; their values are Pulumi secrets (llm-fleet:clientKeys) or LLM_FLEET_KEY_<NAME>.", {
    app: { models: ["*"], rateClass: "standard" },
  }),
  rateClasses: doc(z.record(name, RateClass), "Rate limits by name, used by keys.", { standard: { requestsPerMinute: 120, burst: 20, concurrency: 8 } }),
  perIp: doc(
    z.strictObject({
      requestsPerMinute: doc(positiveInt, "Requests per minute per client IP.", 300),
      burst: doc(z.number().int().nonnegative(), "Burst per client IP.", 50),
    }),
    "Limit per client IP, before any key is checked.",
    { requestsPerMinute: 300, burst: 50 },
  ),
  routes: doc(
    z.record(z.string().regex(/^\/[a-z0-9/_-]+$/, "use a path such as /text2sql"), z.string()).default(() => ({})),
    "Path routes: a path that always reaches one model id.",
    { "/text2sql": "arctic-text2sql" },
  ),
  corsOrigins: doc(z.array(z.string()).default(() => []), 'Browser origins allowed to call the gateway ("*" for any).', ["http://localhost:3000"]),
  maxBodyMiB: doc(z.number().positive().default(8), "Largest request body, in MiB.", 16),
  readTimeoutSeconds: doc(positiveInt.default(300), "Time allowed for the first byte of a reply, in seconds (slow first tokens).", 600),
  metering: doc(
    z.boolean().default(false),
    "Count every request's tokens and times per key (usage log, GET /v1/usage, /metrics). Quotas and upstream request limits need it.",
    true,
  ),
  metricsCidrs: doc(z.array(z.string()).default(() => []), "CIDRs allowed to scrape the gateway's /metrics listener (on AWS, its own port).", ["10.0.0.0/16"]),
  tls: doc(
    z
      .strictObject({
        certificateSecret: doc(secretName, "Secret holding the PEM certificate chain.", "gateway-cert"),
        keySecret: doc(secretName, "Secret holding the PEM private key.", "gateway-key"),
      })
      .optional(),
    "TLS certificate and key, as secret names. Unset: a self-signed certificate.",
    { certificateSecret: "gateway-cert", keySecret: "gateway-key" },
  ),
});

/** One failover tier: a model id, or an object that can say more about it. */
export const FallbackTier = z.union([
  z.string(),
  z.strictObject({
    model: doc(z.string(), "The fallback model's id (fleet or external).", "gpt-4o-mini"),
    anyKey: doc(
      z.boolean().default(false),
      "Serve every key of the failing model through this tier, also keys not allowed to ask for this model themselves (they still get 403 naming it directly). Unset: only keys allowed this model are served by it; the others skip the tier.",
      true,
    ),
  }),
]);
/**
 * The most tiers a model's chain may have (itself and its fallbacks). nginx follows at most 10
 * internal redirects per request (NGX_HTTP_MAX_URI_CHANGES, src/http/ngx_http_request.h), then
 * answers 500 ("rewrite or internal redirection cycle"). A request the gateway does not proxy in
 * place (an alias, a metered stream, a provider tier) takes one to @fleet_router, one per tier it
 * tries and one to the final 503/504: with 9 tiers that all fail, the client got a 500 instead of
 * the 503. Checked by the fallbacksKnown rule, so `fleet plan` refuses such a spec too.
 */
export const MAX_TIERS = 8;

/** The model id of a failover tier, written either way. */
export const fallbackModel = (tier: z.output<typeof FallbackTier>): string => (typeof tier === "string" ? tier : tier.model);

export const FleetSpec = z.strictObject({
  name: doc(name, "Short name of the fleet; prefixes resource names and tags.", "dev"),
  region: doc(z.string().default("us-east-1"), "AWS region for aws nodes and the gateway.", "eu-west-1"),
  vpcId: doc(z.string().optional(), "Existing VPC id. Unset: a new VPC is created.", "vpc-0123456789abcdef0"),
  hfTokenSecret: doc(secretName.optional(), "Name of the secret holding a Hugging Face token (gated models). Unset: anonymous downloads.", "hf-token"),
  nodes: doc(z.array(NodeSpec), "Machines of the fleet.", [{ name: "gpu-a", provider: "aws", instanceType: "g6e.xlarge" }]),
  models: doc(z.array(ModelSpec).min(1), "Models the gateway serves.", [{ id: "qwen2.5-7b", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["gpu-a"] }] }]),
  fallbacks: doc(
    z.record(z.string(), z.array(FallbackTier).min(1)).default(() => ({})),
    "Ordered failover tiers per model id: each entry is another model id (fleet or external), or { model, anyKey: true } for a tier that serves every key of the model. A plain id serves only the keys allowed that model.",
    { "qwen3-32b": ["qwen2.5-7b", { model: "gpt-4o-mini", anyKey: true }] },
  ),
  gateway: doc(GatewaySpec.optional(), "The nginx gateway: keys, rate limits, routes. Unset: the fleet can be planned, not deployed.", {
    keys: { app: { models: ["*"], rateClass: "standard" } },
    rateClasses: { standard: { requestsPerMinute: 120, burst: 20, concurrency: 8 } },
    perIp: { requestsPerMinute: 300, burst: 50 },
  }),
});

/** What a user writes: every defaulted field optional. */
export type FleetSpecInput = z.input<typeof FleetSpec>;
/** After parsing: static defaults filled. normalize.ts adds the derived ones (NormalizedFleetSpec). */
export type ParsedFleetSpec = z.output<typeof FleetSpec>;
export type AwsNodeSpec = z.output<typeof AwsNodeSpec>;
export type SshNodeSpec = z.output<typeof SshNodeSpec> & { address: string };
export type DockerNodeSpec = z.output<typeof DockerNodeSpec> & { address: string };
export type NodeSpec = AwsNodeSpec | SshNodeSpec | DockerNodeSpec;
export type DisplaySpec = z.output<typeof Display>;
export type ServedModelSpec = z.output<typeof ServedModelSpec> & { display: DisplaySpec };
export type ExternalModelSpec = z.output<typeof ExternalModelSpec> & { display: DisplaySpec };
export type ModelSpec = ServedModelSpec | ExternalModelSpec;
export type ReplicaSpec = z.output<typeof Replica>;
export type InlineArch = z.output<typeof InlineArch>;
export type WeightsSource = z.output<typeof WeightsSource>;
export type SamplingSpec = z.output<typeof Sampling>;
export type GatewaySpec = z.output<typeof GatewaySpec>;
export type RateClassSpec = z.output<typeof RateClass>;
/** The spec every consumer reads: parsed, checked and normalized (normalize.ts) — no default left to decide. */
export type FleetSpec = Omit<ParsedFleetSpec, "nodes" | "models"> & { nodes: NodeSpec[]; models: ModelSpec[] };
