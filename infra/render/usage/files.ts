/**
 * The usage service's files, rendered beside the gateway's: gateway/usage/*.mjs (static, from
 * templates/usage/) and gateway/usage/config.json (this fleet's keys, quotas, tier chains and
 * limits). Run with `node gateway/usage/service.mjs gateway/usage/config.json`.
 */
import type { GatewayFleetPlan } from "../../plan/gateway";
import type { FleetPlan } from "../../plan/types";
import { gatewayPrivateName } from "../../plan/nodes";
import { readTemplateFile, type Artifacts } from "../templates";
import { renderGrafanaDashboard } from "./dashboard";
import { DEFAULT_METRICS_PORT, usageServiceConfig, type UsageRenderOptions } from "./gateway";
import { renderPrometheusConfig, type PrometheusRenderOptions } from "./prometheus";
import { hostPort } from "../gateway/tiers";

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
 * Where a Prometheus reaches the gateway's /metrics listener (port DEFAULT_METRICS_PORT), or null
 * without metering (no /metrics). The gateway's domain when it has one; else on a docker node that
 * node's address, the host its published port 9464 listens on (the gateway's URL uses the same
 * address, infra/cloud/gateway.ts); else the AWS instance's record in the fleet's private zone
 * (resolved inside the VPC; port 9464 is open to gateway.metricsCidrs).
 */
export function gatewayMetricsTarget(plan: FleetPlan): string | null {
  const gw = plan.gateway;
  if (gw?.metering !== true) return null;
  if (gw.domain) return hostPort(gw.domain, DEFAULT_METRICS_PORT);
  if (gw.host === "aws") return hostPort(gatewayPrivateName(plan.name), DEFAULT_METRICS_PORT);
  const node = plan.nodes.find((n) => n.name === gw.host);
  if (!node) throw new Error(`gateway.host "${gw.host}" names no node of fleet "${plan.name}"`);
  return hostPort(node.address, DEFAULT_METRICS_PORT);
}

/**
 * monitoring/: prometheus.yml (the gateway and every engine with metrics) and the Grafana
 * dashboard. The gateway target defaults to gatewayMetricsTarget; a fleet without metering has no
 * gateway /metrics, so no gateway job.
 */
export function renderMonitoring(plan: FleetPlan, options: Partial<PrometheusRenderOptions> = {}): Artifacts {
  const gatewayTarget = options.gatewayTarget !== undefined ? options.gatewayTarget : gatewayMetricsTarget(plan);
  return {
    "monitoring/prometheus.yml": { contents: renderPrometheusConfig(plan, { ...options, gatewayTarget }) },
    "monitoring/grafana-dashboard.json": { contents: renderGrafanaDashboard(plan) },
  };
}
