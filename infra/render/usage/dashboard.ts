/**
 * The fleet's Grafana dashboard (JSON model, https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/):
 * gateway requests, tokens/s, time to first byte p50/p95, errors, failovers, quotas, and per
 * replica the engines' own KV-cache use (vLLM) and queue (llama.cpp). Every metric named here is
 * one the gateway exports (templates/usage/metrics.mjs) or one listed in
 * reference/engine-metrics.json; test/gateway/usage-prometheus.test.ts checks both. Pure.
 */
import type { FleetPlan } from "../../plan/types";

interface PanelSpec {
  title: string;
  unit: string;
  /** PromQL → legend. */
  targets: [string, string][];
  description: string;
}

const RATE = "[5m]";
const quantile = (q: number, metric: string) => `histogram_quantile(${q}, sum by (le, model) (rate(${metric}_bucket${RATE})))`;

export const DASHBOARD_PANELS: PanelSpec[] = [
  { title: "Requests/s by model and status", unit: "reqps", description: "Requests the gateway routed, by requested model and HTTP status.", targets: [[`sum by (model, code) (rate(llm_fleet_requests_total${RATE}))`, "{{model}} {{code}}"]] },
  { title: "Tokens/s by model", unit: "short", description: "Prompt and completion tokens from the upstreams' usage.", targets: [[`sum by (model, kind) (rate(llm_fleet_tokens_total${RATE}))`, "{{model}} {{kind}}"]] },
  {
    title: "Time to first byte p50 / p95", unit: "s", description: "From the request's first byte to the reply's first body byte (the first token of a stream).",
    targets: [[quantile(0.5, "llm_fleet_time_to_first_byte_seconds"), "p50 {{model}}"], [quantile(0.95, "llm_fleet_time_to_first_byte_seconds"), "p95 {{model}}"]],
  },
  { title: "Request duration p95", unit: "s", description: "Whole request, last byte included.", targets: [[quantile(0.95, "llm_fleet_request_duration_seconds"), "p95 {{model}}"]] },
  {
    title: "Errors/s (429 and 5xx)", unit: "reqps", description: "Refused (rate limit, quota) and failed requests; replies without usage are counted apart.",
    targets: [[`sum by (model, code) (rate(llm_fleet_requests_total{code=~"429|5.."}${RATE}))`, "{{model}} {{code}}"], [`sum by (model) (rate(llm_fleet_usage_missing_total${RATE}))`, "{{model}} no usage"]],
  },
  { title: "Failovers/s", unit: "short", description: "A tier failed (status, timeout) or was skipped (limit) and the next tier was tried.", targets: [[`sum by (model, from, to, reason) (rate(llm_fleet_failovers_total${RATE}))`, "{{model}}: {{from}} → {{to}} ({{reason}})"]] },
  { title: "Quota remaining", unit: "short", description: "What each key with a quota may still use in the current UTC day and month.", targets: [["llm_fleet_quota_remaining", "{{key}} {{window}} {{kind}}"]] },
  { title: "KV cache use per replica (vLLM)", unit: "percentunit", description: "vLLM's own gauge, per replica.", targets: [["vllm:kv_cache_usage_perc", "{{model}} #{{replica}}"]] },
  {
    title: "Engine queue per replica", unit: "short", description: "Requests running and waiting in each engine (llama.cpp has no KV-cache gauge; its deferred requests are the queue).",
    targets: [["vllm:num_requests_running", "{{model}} #{{replica}} running"], ["vllm:num_requests_waiting", "{{model}} #{{replica}} waiting"], ["llamacpp:requests_processing", "{{model}} #{{replica}} processing"], ["llamacpp:requests_deferred", "{{model}} #{{replica}} deferred"]],
  },
  {
    title: "Engine generation tokens/s per replica", unit: "short", description: "What the engines report generating, to compare with the gateway's count.",
    targets: [[`rate(vllm:generation_tokens_total${RATE})`, "{{model}} #{{replica}}"], [`rate(llamacpp:tokens_predicted_total${RATE})`, "{{model}} #{{replica}}"]],
  },
];

export function renderGrafanaDashboard(plan: FleetPlan): string {
  const datasource = { type: "prometheus", uid: "${DS_PROMETHEUS}" };
  const panels = DASHBOARD_PANELS.map((p, i) => ({
    id: i + 1,
    type: "timeseries",
    title: p.title,
    description: p.description,
    datasource,
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
    targets: p.targets.map(([expr, legendFormat], k) => ({ refId: String.fromCharCode(65 + k), datasource, expr, legendFormat })),
  }));
  const dashboard = {
    __inputs: [{ name: "DS_PROMETHEUS", label: "Prometheus", type: "datasource", pluginId: "prometheus", pluginName: "Prometheus" }],
    title: `llm-fleet: ${plan.name}`,
    uid: `llm-fleet-${plan.name}`.slice(0, 40),
    tags: ["llm-fleet"],
    timezone: "utc",
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: { list: [] },
    panels,
  };
  return JSON.stringify(dashboard, null, 2) + "\n";
}
