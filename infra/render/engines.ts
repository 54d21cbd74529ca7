/**
 * What a client in front of each engine (the gateway) needs to know about it: the Host header
 * it must send, where readiness is, how the key is checked, and which defaults the engine
 * applies by itself. The gateway imports this table; it never restates these facts.
 */
import type { SamplingSpec, ServedEngine } from "../spec/schema";

export type SamplingField = keyof SamplingSpec;

export interface EngineUpstreamFacts {
  /**
   * Host header to send upstream, or null for "any". Ollama answers 403 to a Host that is not
   * local (ollama.json notes: allowedHostsMiddleware) when it listens on loopback; we bind it to
   * 0.0.0.0 in its container, where the check is off, but send "localhost" anyway so that a
   * loopback-bound or tunnelled Ollama keeps working.
   */
  upstreamHostHeader: string | null;
  /** Readiness path: 200 once the model is loaded. */
  healthPath: string;
  /** Environment variable holding the engine's key (null: the engine has no key check). */
  apiKeyEnv: string | null;
  /** Sampling defaults the engine applies itself (the gateway fills the others into requests). */
  serverSideSampling: readonly SamplingField[];
  /** The engine adds the model's systemPrompt itself (else the gateway must prepend it). */
  appliesSystemPrompt: boolean;
}

const ALL_SAMPLING: readonly SamplingField[] = [
  "temperature", "topP", "topK", "minP", "repetitionPenalty", "presencePenalty", "frequencyPenalty",
];

export const ENGINE_UPSTREAM: { readonly [engine in ServedEngine]: EngineUpstreamFacts } = {
  vllm: {
    upstreamHostHeader: null,
    // vllm-serve-args.json --api-key note: /health is not key-checked.
    healthPath: "/health",
    apiKeyEnv: "VLLM_API_KEY",
    // vLLM reads only these keys from a generation config (ModelConfig.get_diff_sampling_param):
    // presence/frequency penalties must come with the request.
    serverSideSampling: ["temperature", "topP", "topK", "minP", "repetitionPenalty"],
    appliesSystemPrompt: false,
  },
  llamacpp: {
    upstreamHostHeader: null,
    // llama-server-observed.md §3: 503 while loading, then 200; no key needed.
    healthPath: "/health",
    apiKeyEnv: "LLAMA_API_KEY",
    serverSideSampling: ALL_SAMPLING,
    appliesSystemPrompt: false,
  },
  ollama: {
    upstreamHostHeader: "localhost",
    // ollama.json http_endpoints.health_check: GET / answers 200 "Ollama is running".
    healthPath: "/",
    apiKeyEnv: null,
    serverSideSampling: ALL_SAMPLING,
    appliesSystemPrompt: true,
  },
};
