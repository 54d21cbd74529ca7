/**
 * The usage service's files, rendered beside the gateway's: gateway/usage/*.mjs (static, from
 * templates/usage/) and gateway/usage/config.json (this fleet's keys, quotas, tier chains and
 * limits). Run with `node gateway/usage/service.mjs gateway/usage/config.json`.
 */
import type { GatewayFleetPlan } from "../../plan/gateway";
import type { FleetPlan } from "../../plan/types";
import { readTemplateFile, type Artifacts } from "../templates";
import { renderGrafanaDashboard } from "./dashboard";
import { DEFAULT_METRICS_PORT, usageServiceConfig, type UsageRenderOptions } from "./gateway";
import { renderPrometheusConfig, type PrometheusRenderOptions } from "./prometheus";

/** The service's modules, in templates/usage/. */
export const USAGE_SERVICE_MODULES = ["service.mjs", "store.mjs", "metrics.mjs", "windows.mjs"] as const;

/** Where the usage service's files land among the rendered artifacts. */
export const USAGE_SERVICE_DIR = "gateway/usage";
export const USAGE_SERVICE_ENTRY = `${USAGE_SERVICE_DIR}/service.mjs`;
export const USAGE_SERVICE_CONFIG = `${USAGE_SERVICE_DIR}/config.json`;

export function renderUsageFiles(plan: GatewayFleetPlan, usage: UsageRenderOptions): Artifacts {
  const files: Artifacts = {};
  for (const m of USAGE_SERVICE_MODULES) files[`${USAGE_SERVICE_DIR}/${m}`] = { contents: readTemplateFile(`usage/${m}`) };
  files[USAGE_SERVICE_CONFIG] = { contents: JSON.stringify(usageServiceConfig(plan, usage), null, 2) + "\n" };
  return files;
}

/**
 * monitoring/: prometheus.yml (the gateway and every engine with metrics) and the Grafana
 * dashboard. The gateway target defaults to the gateway's domain or its private name on AWS; a
 * fleet without metering has no gateway /metrics, so no gateway job.
 */
export function renderMonitoring(plan: FleetPlan, options: Partial<PrometheusRenderOptions> = {}): Artifacts {
  const metered = plan.gateway?.metering === true;
  const gatewayTarget = options.gatewayTarget !== undefined ? options.gatewayTarget : metered ? `${plan.gateway?.domain ?? `gateway.${plan.name}`}:${DEFAULT_METRICS_PORT}` : null;
  return {
    "monitoring/prometheus.yml": { contents: renderPrometheusConfig(plan, { ...options, gatewayTarget }) },
    "monitoring/grafana-dashboard.json": { contents: renderGrafanaDashboard(plan) },
  };
}
