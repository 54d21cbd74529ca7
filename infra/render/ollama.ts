/**
 * Ollama: one server per node (port 11434) serving all of the node's Ollama models, configured
 * through OLLAMA_* variables (`ollama serve` takes no flags; ollama.json serve_command), one
 * Modelfile per model. The container runs ollama/serve.sh: the server, then each model pulled and
 * created under its fleet id; it reports healthy only after that, the same on every provider.
 */
import type { FleetPlan, NodePlan, ReplicaPlan, ServedModelPlan } from "../plan/types";
import type { SamplingSpec } from "../spec/schema";
import { OLLAMA_PORT } from "../plan";
import { IMAGES } from "./images";
import { slug } from "./layout";
import { ENGINE_START_PERIOD_SECONDS, gpuOrder, type ContainerService } from "./service";
import { renderTemplate, shellQuote, type Artifacts } from "./templates";

export const OLLAMA_SERVICE = "ollama";
const MODELFILES_MOUNT = { source: "./ollama", target: "/etc/llm-fleet/ollama", readOnly: true } as const;
/** The container's start script, in the mounted directory. */
export const OLLAMA_SERVE_SCRIPT = "serve.sh";
/** Written inside the container after the last model is created; the health check looks for it. */
export const OLLAMA_MODELS_READY_FILE = "/tmp/llm-fleet-models-ready";
/** How long serve.sh waits for the server to answer before it pulls. */
const OLLAMA_SERVER_WAIT_SECONDS = 600;

/** Sampling defaults as Modelfile PARAMETERs (ollama.json modelfile.parameters). */
const SAMPLING_PARAMETERS = {
  temperature: "temperature",
  topP: "top_p",
  topK: "top_k",
  minP: "min_p",
  repetitionPenalty: "repeat_penalty",
  presencePenalty: "presence_penalty",
  frequencyPenalty: "frequency_penalty",
} as const satisfies { [field in keyof Required<SamplingSpec>]: string };

export interface OllamaModelOnNode {
  model: ServedModelPlan;
  replica: ReplicaPlan;
}

export function ollamaModelsOn(plan: FleetPlan, node: NodePlan): OllamaModelOnNode[] {
  const found: OllamaModelOnNode[] = [];
  for (const model of plan.models) {
    if (model.engine !== "ollama") continue;
    for (const replica of model.replicas) {
      if (new Set(replica.nodes).size > 1) {
        throw new Error(`render: Ollama replica ${replica.index} of "${model.id}" spans nodes ${replica.nodes.join(", ")}; an Ollama server runs on one machine`);
      }
      if (replica.endpoint.node === node.name) found.push({ model, replica });
    }
  }
  return found;
}

export function ollamaTag(model: ServedModelPlan): string {
  if (!("ollama" in model.source)) {
    throw new Error(`render: Ollama model "${model.id}" needs an Ollama source ({ ollama: "name:tag" }), got ${JSON.stringify(model.source)}`);
  }
  return model.source.ollama;
}

export function modelfileName(modelId: string): string {
  return `${slug(modelId)}.Modelfile`;
}

/** One server-wide value that every model on the node must agree on; disagreement is an error, not a pick. */
function shared<T>(node: NodePlan, what: string, items: OllamaModelOnNode[], get: (s: NonNullable<ReplicaPlan["ollama"]>) => T): T {
  const values = [...new Set(items.map((i) => get(settings(i))))];
  if (values.length !== 1) {
    const detail = items.map((i) => `"${i.model.id}": ${String(get(settings(i)))}`).join(", ");
    throw new Error(`render: Ollama's ${what} is one setting per server, but the models on node "${node.name}" were planned with different values (${detail})`);
  }
  return values[0]!;
}

function settings(item: OllamaModelOnNode): NonNullable<ReplicaPlan["ollama"]> {
  const s = item.replica.ollama;
  if (!s) throw new Error(`render: replica ${item.replica.index} of "${item.model.id}" has no Ollama settings in the plan`);
  return s;
}

/** Server environment (ollama.json environment_variables). */
export function ollamaEnvironment(plan: FleetPlan, node: NodePlan, items: OllamaModelOnNode[]): Record<string, string> {
  const env: Record<string, string> = {
    // 0.0.0.0 inside the container so the published port works; the engine port is reachable
    // only from the gateway (security group / firewall), Ollama has no key check of its own.
    OLLAMA_HOST: `0.0.0.0:${OLLAMA_PORT}`,
    // Negative = keep loaded forever: the plan reserved memory for every model on the node.
    OLLAMA_KEEP_ALIVE: "-1",
    OLLAMA_NUM_PARALLEL: String(shared(node, "OLLAMA_NUM_PARALLEL", items, (s) => s.numParallel)),
    // Only a default for requests without num_ctx; every fleet Modelfile sets its own.
    OLLAMA_CONTEXT_LENGTH: String(Math.min(...items.map((i) => settings(i).numCtx))),
    OLLAMA_FLASH_ATTENTION: shared(node, "OLLAMA_FLASH_ATTENTION", items, (s) => s.flashAttention) ? "1" : "0",
    OLLAMA_KV_CACHE_TYPE: shared(node, "OLLAMA_KV_CACHE_TYPE", items, (s) => s.kvCacheType),
    OLLAMA_MAX_LOADED_MODELS: String(items.length),
  };
  const origins = plan.gateway ? plan.gateway.corsOrigins : [];
  if (origins.length > 0) env.OLLAMA_ORIGINS = origins.join(",");
  return env;
}

export function modelfile(item: OllamaModelOnNode): string {
  const s = settings(item);
  const { model } = item;
  const parameters = [
    { name: "num_ctx", value: String(s.numCtx) },
    { name: "num_gpu", value: String(s.numGpu) },
    ...Object.entries(SAMPLING_PARAMETERS)
      .filter(([field]) => model.sampling[field as keyof SamplingSpec] !== undefined)
      .map(([field, name]) => ({ name, value: String(model.sampling[field as keyof SamplingSpec]) })),
  ];
  if (model.systemPrompt?.includes('"""')) {
    throw new Error(`render: the systemPrompt of "${model.id}" contains """, which ends a Modelfile SYSTEM block; rephrase it`);
  }
  return renderTemplate("ollama/Modelfile.hbs", { id: model.id, from: ollamaTag(model), parameters, system: model.systemPrompt ?? null });
}

export function ollamaNode(plan: FleetPlan, node: NodePlan): { service: ContainerService; files: Artifacts } | null {
  const items = ollamaModelsOn(plan, node);
  if (items.length === 0) return null;
  const order = gpuOrder([...new Set(items.flatMap((i) => i.replica.stages.flatMap((st) => st.gpus)))].sort((a, b) => a - b));
  const files: Artifacts = {};
  for (const item of items) files[`ollama/${modelfileName(item.model.id)}`] = { contents: modelfile(item) };
  files[`ollama/${OLLAMA_SERVE_SCRIPT}`] = {
    mode: 0o755,
    contents: renderTemplate("ollama/serve.sh.hbs", {
      node: node.name,
      readyFile: OLLAMA_MODELS_READY_FILE,
      waitSeconds: OLLAMA_SERVER_WAIT_SECONDS,
      models: items.map((i) => ({
        id: i.model.id,
        pull: ["pull", ollamaTag(i.model)].map(shellQuote).join(" "),
        create: ["create", i.model.id, "-f", `${MODELFILES_MOUNT.target}/${modelfileName(i.model.id)}`].map(shellQuote).join(" "),
      })),
    }),
  };
  const service: ContainerService = {
    name: OLLAMA_SERVICE,
    role: "engine",
    engine: "ollama",
    image: IMAGES.ollama,
    entrypoint: ["/bin/sh", `${MODELFILES_MOUNT.target}/${OLLAMA_SERVE_SCRIPT}`],
    command: [],
    environment: { ...ollamaEnvironment(plan, node, items), ...order.environment },
    secretEnv: [],
    bootEnvFiles: [],
    gpus: order.gpus,
    network: { mode: "bridge", port: OLLAMA_PORT },
    mounts: [{ source: "./cache/ollama", target: "/root/.ollama", readOnly: false }, MODELFILES_MOUNT],
    // Healthy once every model is created (serve.sh) and the server answers (the client inside
    // the image talks to OLLAMA_HOST).
    healthcheck: { test: ["CMD", "/bin/sh", "-c", `test -f ${OLLAMA_MODELS_READY_FILE} && /bin/ollama list >/dev/null`], startPeriodSeconds: ENGINE_START_PERIOD_SECONDS },
    ipcHost: false,
    stopGraceSeconds: 30,
  };
  return { service, files };
}
