/**
 * prometheus.yml for a fleet: the gateway's /metrics (the usage service's listener) and every
 * engine replica's own /metrics: vLLM (always on; not behind --api-key) and llama-server (started
 * with --metrics by llamacpp.ts; behind LLAMA_API_KEY, so scraped with the engines' key from a
 * file). Ollama has no metrics endpoint (reference/engine-metrics.json). Pure.
 */
import { stringify } from "yaml";
import type { FleetPlan } from "../../plan/types";
import { ENGINE_UPSTREAM } from "../engines";
import { hostPort } from "../gateway/tiers";

export interface PrometheusRenderOptions {
  /** host:port of the gateway's metrics listener as Prometheus reaches it; null: no gateway job (metering off, so no /metrics). */
  gatewayTarget: string | null;
  /** Where an engine replica is reached from Prometheus. @default the planned endpoint */
  resolveEngine?: (modelId: string, replicaIndex: number, planned: { host: string; port: number }) => { host: string; port: number };
  /** File holding the engines' API key (llama-server checks it on /metrics). @default none: llama.cpp targets are left out */
  engineKeyFile?: string;
  /** @default "15s" */
  scrapeInterval?: string;
}

/** The scrape jobs' names: the Grafana dashboard selects by them. */
export const SCRAPE_JOBS = { gateway: "llm-fleet-gateway", vllm: "llm-fleet-vllm", llamacpp: "llm-fleet-llamacpp" } as const;

export function renderPrometheusConfig(plan: FleetPlan, o: PrometheusRenderOptions): string {
  const resolve = o.resolveEngine ?? ((_id, _i, planned) => planned);
  const targets = (engine: "vllm" | "llamacpp") =>
    plan.models.flatMap((m) =>
      m.engine === engine
        ? m.replicas.map((r, i) => {
            const at = resolve(m.id, i, { host: r.endpoint.host, port: r.endpoint.port });
            return { targets: [hostPort(at.host, at.port)], labels: { model: m.id, replica: String(i) } };
          })
        : [],
    );
  // Which engines have /metrics, and behind which key: render/engines.ts ENGINE_UPSTREAM.
  const engineJob = (engine: "vllm" | "llamacpp") => {
    const behindKey = ENGINE_UPSTREAM[engine].metrics === "key";
    const configs = behindKey && !o.engineKeyFile ? [] : targets(engine);
    if (configs.length === 0) return [];
    return [{ job_name: SCRAPE_JOBS[engine], metrics_path: "/metrics", ...(behindKey ? { authorization: { type: "Bearer", credentials_file: o.engineKeyFile } } : {}), static_configs: configs }];
  };
  const jobs = [
    ...(o.gatewayTarget !== null ? [{ job_name: SCRAPE_JOBS.gateway, metrics_path: "/metrics", static_configs: [{ targets: [o.gatewayTarget], labels: { fleet: plan.name } }] }] : []),
    ...engineJob("vllm"),
    ...engineJob("llamacpp"),
  ];
  const header = `# Prometheus scrape config for fleet "${plan.name}", rendered from the fleet spec (llm-fleet).\n`;
  return header + stringify({ global: { scrape_interval: o.scrapeInterval ?? "15s", external_labels: { fleet: plan.name } }, scrape_configs: jobs });
}
