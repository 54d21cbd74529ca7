/**
 * vLLM: the `vllm serve` command line, environment and container of a replica. Every flag is
 * in reference/vllm-serve-args.json (test/render checks it); the numbers come from
 * the plan, never from here.
 */
import type { ReplicaPlan, ServedModelPlan } from "../plan/types";
import type { SamplingSpec } from "../spec/schema";
import { ENGINE_UPSTREAM } from "./engines";
import { IMAGES } from "./images";
import { engineServiceName } from "./layout";
import { ENGINE_START_PERIOD_SECONDS, engineSecretEnv, gpuOrder, pythonHttpCheck, type ContainerService } from "./service";

/** Where the Hugging Face cache lives in the vLLM image (it runs as root). */
const HF_CACHE = "/root/.cache/huggingface";

/**
 * Sampling defaults through vLLM's generation-config mechanism. We use
 * --override-generation-config (merged over the model's own generation_config.json) rather than
 * --generation-config <folder>: a folder replaces the model's file, and with it model-specific
 * fields such as extra eos_token_id entries. vLLM reads only these keys from it
 * (ModelConfig.get_diff_sampling_param): presence/frequency penalties cannot be defaults of a
 * vLLM server, only fields a client sends with its request (the gateway adds none).
 */
const GENERATION_CONFIG_KEYS = {
  temperature: "temperature",
  topP: "top_p",
  topK: "top_k",
  minP: "min_p",
  repetitionPenalty: "repetition_penalty",
} as const satisfies Partial<Record<keyof SamplingSpec, string>>;

export function generationConfigOverrides(sampling: SamplingSpec): Record<string, number> | null {
  const overrides: Record<string, number> = {};
  for (const [field, key] of Object.entries(GENERATION_CONFIG_KEYS)) {
    const value = sampling[field as keyof typeof GENERATION_CONFIG_KEYS];
    if (value !== undefined) overrides[key] = value;
  }
  return Object.keys(overrides).length > 0 ? overrides : null;
}

export function hfRepo(model: ServedModelPlan): { repo: string; revision?: string } {
  if (!("hf" in model.source)) {
    throw new Error(`render: vLLM model "${model.id}" needs a Hugging Face source ({ hf: owner/name }), got ${JSON.stringify(model.source)}`);
  }
  return { repo: model.source.hf, revision: model.source.revision };
}

/** `vllm serve` arguments (after the entrypoint), model first as the positional model_tag. */
export function vllmServeArgs(model: ServedModelPlan, replica: ReplicaPlan): string[] {
  const v = replica.vllm;
  if (!v) throw new Error(`render: replica ${replica.index} of "${model.id}" has no vLLM settings in the plan`);
  const { repo, revision } = hfRepo(model);
  const multiNode = new Set(replica.nodes).size > 1;
  const args = [repo];
  if (revision) args.push("--revision", revision);
  // nargs='+': the first name is the one reported back in responses.
  args.push("--served-model-name", model.id, ...model.aliases);
  args.push("--host", "0.0.0.0", "--port", String(replica.endpoint.port));
  args.push("--tensor-parallel-size", String(replica.tensorParallel));
  args.push("--pipeline-parallel-size", String(replica.pipelineParallel));
  if (multiNode) args.push("--distributed-executor-backend", "ray");
  args.push("--max-model-len", String(replica.contextLength));
  args.push("--max-num-seqs", String(v.maxNumSeqs));
  args.push("--max-num-batched-tokens", String(v.maxNumBatchedTokens));
  args.push("--gpu-memory-utilization", String(v.gpuMemoryUtilization));
  args.push("--kv-cache-dtype", v.kvCacheDtype);
  // Only for a 16-bit checkpoint quantized while loading; a quantized checkpoint declares its method (plan/replica.ts).
  if (v.quantization !== null) args.push("--quantization", v.quantization);
  const overrides = generationConfigOverrides(model.sampling);
  if (overrides) args.push("--override-generation-config", JSON.stringify(overrides));
  return args;
}

/** Environment of the process that runs `vllm serve` (and, for Ray, of the head). */
export function vllmEnvironment(replica: ReplicaPlan): Record<string, string> {
  const env: Record<string, string> = {
    // vllm-serve-args.json environment_variables: opt out of usage reporting.
    VLLM_NO_USAGE_STATS: "1",
    DO_NOT_TRACK: "1",
  };
  if (replica.pipelineParallel > 1) {
    // Exactly the plan's split: length = pp size, sum = num_hidden_layers, else vLLM refuses to start.
    env.VLLM_PP_LAYER_PARTITION = replica.layerSplit.join(",");
  }
  return env;
}

export const HF_CACHE_MOUNT = { source: "./cache/huggingface", target: HF_CACHE, readOnly: false } as const;

/** The image of the vLLM version the replica was planned for (plan/vllm.ts; catalog/vllm-versions.ts). */
export function vllmImage(replica: ReplicaPlan): string {
  return replica.vllm?.image ?? IMAGES.vllm;
}

/** A replica whose stages are all on one node: one container, `vllm serve` (mp backend when TP×PP > 1). */
export function vllmService(model: ServedModelPlan, replica: ReplicaPlan, hfTokenSecret: string | undefined): ContainerService {
  const order = gpuOrder(replica.stages.flatMap((s) => s.gpus));
  const port = replica.endpoint.port;
  return {
    name: engineServiceName("vllm", model.id, replica.index),
    role: "engine",
    engine: "vllm",
    image: vllmImage(replica),
    entrypoint: ["vllm", "serve"],
    command: vllmServeArgs(model, replica),
    environment: { ...vllmEnvironment(replica), ...order.environment },
    secretEnv: engineSecretEnv("vllm", hfTokenSecret),
    bootEnvFiles: [],
    gpus: order.gpus,
    network: { mode: "bridge", port },
    mounts: [HF_CACHE_MOUNT],
    healthcheck: { test: pythonHttpCheck(port, ENGINE_UPSTREAM.vllm.healthPath), startPeriodSeconds: ENGINE_START_PERIOD_SECONDS },
    ipcHost: true,
    stopGraceSeconds: 60,
  };
}
