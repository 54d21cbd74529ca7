/**
 * What a client in front of each engine needs to know about it: the Host header it must send,
 * where readiness is and how the key is checked. One table, read by the engine renderers (health
 * checks, key variables) and the gateway (render/gateway/tiers.ts: Host header and /health probes);
 * no one restates these facts.
 */
import type { ServedEngine } from "../spec/schema";

export interface EngineUpstreamFacts {
  /**
   * Host header to send upstream, or null for "any". Ollama answers 403 to a Host that is not
   * local (ollama.json notes: allowedHostsMiddleware) when it listens on loopback; we bind it to
   * 0.0.0.0 in its container, where the check is off, but send "localhost" anyway so that a
   * loopback-bound or tunnelled Ollama keeps working.
   */
  upstreamHostHeader: string | null;
  /**
   * Readiness path, answered without a key: 200 once the engine serves (vLLM and llama-server:
   * once the model is loaded, 503 before; Ollama: once its server runs, models load on first use).
   */
  healthPath: string;
  /** Environment variable holding the engine's key (null: the engine has no key check). */
  apiKeyEnv: string | null;
  /**
   * Prometheus metrics on the engine's own port: "open" (vLLM: /metrics is not behind --api-key),
   * "key" (llama-server --metrics, behind its API key) or null (Ollama has none;
   * reference/engine-metrics.json).
   */
  metrics: "open" | "key" | null;
}

export const ENGINE_UPSTREAM: { readonly [engine in ServedEngine]: EngineUpstreamFacts } = {
  vllm: {
    upstreamHostHeader: null,
    // vllm-serve-args.json --api-key note: /health is not key-checked.
    healthPath: "/health",
    apiKeyEnv: "VLLM_API_KEY",
    metrics: "open",
  },
  llamacpp: {
    upstreamHostHeader: null,
    // llama-server-observed.md §3: 503 while loading, then 200; no key needed.
    healthPath: "/health",
    apiKeyEnv: "LLAMA_API_KEY",
    metrics: "key",
  },
  ollama: {
    upstreamHostHeader: "localhost",
    // ollama.json health_check: GET / answers 200 "Ollama is running" (GET /api/version works too).
    healthPath: "/",
    apiKeyEnv: null,
    metrics: null,
  },
};
