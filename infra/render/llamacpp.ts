/**
 * llama.cpp server: the `llama-server` command line and container of a replica. Every option
 * is in reference/llama-server-args.json (checked in test/render); values are the
 * plan's. Values always follow their option as the next argument (no --flag=value form there).
 */
import type { ReplicaPlan, ServedModelPlan } from "../plan/types";
import type { SamplingSpec } from "../spec/schema";
import { ENGINE_UPSTREAM } from "./engines";
import { engineImage } from "./images";
import { engineServiceName } from "./layout";
import { ENGINE_START_PERIOD_SECONDS, engineSecretEnv, gpuOrder, type ContainerService } from "./service";

/** Sampling defaults as llama-server options (category "sampling" in llama-server-args.json). */
const SAMPLING_OPTIONS = {
  temperature: "--temp",
  topP: "--top-p",
  topK: "--top-k",
  minP: "--min-p",
  repetitionPenalty: "--repeat-penalty",
  presencePenalty: "--presence-penalty",
  frequencyPenalty: "--frequency-penalty",
} as const satisfies { [field in keyof Required<SamplingSpec>]: string };

const CACHE_DIR = "/root/.cache/llama.cpp";

export function ggufSource(model: ServedModelPlan): { repo: string; file: string } {
  if (!("gguf" in model.source)) {
    throw new Error(`render: llama.cpp model "${model.id}" needs a GGUF source ({ gguf: { repo, file } }), got ${JSON.stringify(model.source)}`);
  }
  return model.source.gguf;
}

export function llamaServerArgs(model: ServedModelPlan, replica: ReplicaPlan): string[] {
  const l = replica.llamacpp;
  if (!l) throw new Error(`render: replica ${replica.index} of "${model.id}" has no llama.cpp settings in the plan`);
  const { repo, file } = ggufSource(model);
  const args = ["--hf-repo", repo, "--hf-file", file];
  // Comma-separated names; the first is what /v1/models reports.
  args.push("--alias", [model.id, ...model.aliases].join(","));
  args.push("--host", "0.0.0.0", "--port", String(replica.endpoint.port));
  // Set explicitly, -ngl, -ts and -c make --fit leave layers, split and context as planned.
  args.push("--n-gpu-layers", String(l.nGpuLayers));
  if (l.tensorSplit.length > 1) args.push("--tensor-split", l.tensorSplit.join(","));
  // --ctx-size is the total over all slots: parallel × per-slot context (llama-server-observed.md §4).
  args.push("--ctx-size", String(l.ctxSize), "--parallel", String(l.parallel));
  args.push("--threads", String(l.threads), "--batch-size", String(l.batchSize), "--ubatch-size", String(l.ubatchSize));
  args.push("--cache-type-k", l.cacheType, "--cache-type-v", l.cacheType);
  // A quantized V cache needs flash attention (observed §7); the plan decides, we say it explicitly.
  args.push("--flash-attn", l.flashAttention ? "on" : "off");
  for (const [field, option] of Object.entries(SAMPLING_OPTIONS)) {
    const value = model.sampling[field as keyof SamplingSpec];
    if (value !== undefined) args.push(option, String(value));
  }
  // /metrics answers 501 without --metrics (observed §9); the web UI is not for a fleet.
  args.push("--metrics", "--no-webui");
  return args;
}

export function llamaService(model: ServedModelPlan, replica: ReplicaPlan, hfTokenSecret: string | undefined): ContainerService {
  if (new Set(replica.nodes).size > 1) {
    throw new Error(`render: llama.cpp replica ${replica.index} of "${model.id}" spans nodes ${replica.nodes.join(", ")}; llama-server runs on one machine`);
  }
  const order = gpuOrder(replica.stages.flatMap((s) => s.gpus));
  const port = replica.endpoint.port;
  return {
    name: engineServiceName("llamacpp", model.id, replica.index),
    role: "engine",
    engine: "llamacpp",
    image: engineImage("llamacpp", order.gpus.length > 0),
    entrypoint: ["/app/llama-server"],
    command: llamaServerArgs(model, replica),
    // LLAMA_CACHE: first choice for the download cache (llama-server-args.json other_environment_variables).
    environment: { LLAMA_CACHE: CACHE_DIR, ...order.environment },
    secretEnv: engineSecretEnv("llamacpp", hfTokenSecret),
    bootEnvFiles: [],
    gpus: order.gpus,
    network: { mode: "bridge", port },
    mounts: [{ source: "./cache/llama.cpp", target: CACHE_DIR, readOnly: false }],
    // The server images ship curl (their own HEALTHCHECK uses it); /health is 503 until loaded.
    healthcheck: { test: ["CMD", "curl", "-fsS", `http://127.0.0.1:${port}${ENGINE_UPSTREAM.llamacpp.healthPath}`], startPeriodSeconds: ENGINE_START_PERIOD_SECONDS },
    ipcHost: false,
    stopGraceSeconds: 30,
  };
}
