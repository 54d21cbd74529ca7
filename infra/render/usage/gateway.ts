/**
 * The usage parts of the gateway render (issue 14): what nginx.conf, fleet.json and the usage
 * service need to meter requests, enforce quotas and provider limits, and export metrics.
 * One place decides the names both sides use: the usage log, the socket, the block files.
 * Pure: paths are only joined, nothing is read.
 */
import type { GatewayFleetPlan } from "../../plan/gateway";
import type { FleetPlan } from "../../plan/types";
import type { ModelSpec } from "../../spec/schema";
import { QUOTA_FIELDS, type KeyQuotaSpec } from "../../spec/usage";
import type { RouterConfig } from "../gateway/router-types";

/** Where the usage state lives and where /metrics listens (not the public listener). */
export interface UsageRenderOptions {
  /**
   * Absolute directory shared by nginx (writes the usage log) and the usage service (state, block
   * files, socket). @default "/var/lib/llm-fleet/usage" (DEFAULT_USAGE_DIR)
   */
  dir: string;
  /** The metrics listener of the usage service, e.g. { host: "0.0.0.0", port: 9464 }. @default none (no /metrics) */
  metrics?: { host: string; port: number };
}

/**
 * The usage directory's names, one home for nginx.conf (usageNginxContext), usage.js (fleet.json
 * `usage`) and the usage service (config.json `layout`): the hourly usage log
 * (<logPrefix><UTC hour, as $fleet_usage_hour writes it><logSuffix>), the block files' folder and
 * the service's socket.
 */
export const USAGE_LAYOUT = { logPrefix: "usage-", logSuffix: ".log", blockedDir: "blocked", socket: "usage.sock" } as const;

/**
 * The fields of a request's line in the usage log, and the nginx variable nginx writes in each
 * (log_format fleet_usage, escape=json: every value a string). nginx.conf's log_format and the usage
 * service's check of a line (config.json `recordFields`) are both built from this list.
 */
export const USAGE_LOG_FIELDS = {
  t: "$msec",
  key: "$fleet_key_name",
  model: "$fleet_model",
  served: "$fleet_served",
  tier: "$fleet_tier",
  attempts: "$fleet_attempts",
  status: "$status",
  ustatus: "$fleet_upstream_status",
  pt: "$fleet_prompt_tokens",
  ct: "$fleet_completion_tokens",
  usage: "$fleet_usage",
  ttfb: "$fleet_ttfb",
  rt: "$request_time",
  quota: "$fleet_quota_block",
} as const;

/** The fleet_usage log_format's text: one JSON object of USAGE_LOG_FIELDS. */
export function usageLogFormat(): string {
  return `{${Object.entries(USAGE_LOG_FIELDS).map(([name, variable]) => `"${name}":"${variable}"`).join(",")}}`;
}

/** The usage service's config file (gateway/usage/config.json), read by templates/usage/service.mjs. */
export interface UsageServiceConfig {
  fleet: string;
  dir: string;
  /** How often the service reads the usage log and publishes blocks (USAGE_POLL_MS). */
  pollMs: number;
  metrics: { host: string; port: number; allow: string[] } | null;
  /** Which quota field counts what in which window (QUOTA_FIELDS): the store walks this list, it keeps none of its own. */
  quotaFields: typeof QUOTA_FIELDS;
  /** The fields every request line of the usage log has (USAGE_LOG_FIELDS): a line without one is not counted. */
  recordFields: string[];
  /** The names of the usage directory's files (USAGE_LAYOUT). */
  layout: typeof USAGE_LAYOUT;
  /** Per key: its quota, whether it is an admin, and the block file the service writes when a quota is used up (keyBlockFile). */
  keys: Record<string, { quota: KeyQuotaSpec | null; admin: boolean; blockFile: string }>;
  /** Per model id, the model ids of its tiers (tier 0 first): attempts in the log are tier indexes. */
  chains: Record<string, string[]>;
  /** Per upstream model id with request limits: the limits and its block file. */
  tierLimits: Record<string, { requestsPerMinute?: number; requestsPerDay?: number; blockFile: string }>;
}

/**
 * The usage service reads the usage log and publishes blocks this often: the lag of quota and
 * provider-limit enforcement that the README and the plan table state.
 */
export const USAGE_POLL_MS = 200;

/** Port of /metrics when `fleet gateway` is asked for one without a number, and on AWS. */
export const DEFAULT_METRICS_PORT = 9464;

const isAbsolute = (p: string) => p.startsWith("/");

/** The usage directory on a gateway host (inside its containers). */
export const DEFAULT_USAGE_DIR = "/var/lib/llm-fleet/usage";

/** The usage settings when metering is on (defaults filled), else null. */
export function usageSettings(plan: GatewayFleetPlan, given: UsageRenderOptions | undefined): UsageRenderOptions | null {
  if (plan.gateway.metering !== true) return null;
  const options = given ?? { dir: DEFAULT_USAGE_DIR };
  // A backslash too: nginx's parser reads \t, \n, \r in a bare word as control characters
  // (ngx_conf_read_token, src/core/ngx_conf_file.c), so nginx would look for block files and write
  // the usage log in another directory than fleet.json and the usage service name.
  if (!isAbsolute(options.dir) || /[\s;'"{}$\\]/.test(options.dir)) throw new Error(`usage directory "${options.dir}" must be an absolute path without spaces, quotes, braces, ;, $ or a backslash (it lands in nginx.conf)`);
  return options;
}

function specOf(plan: FleetPlan, modelId: string): ModelSpec {
  const m = plan.spec.models.find((x) => x.id === modelId);
  if (!m) throw new Error(`no model "${modelId}" in the spec`);
  return m;
}

/** Block file (under <dir>/blocked/) of a key over one of its quotas. */
export const keyBlockFile = (keyName: string) => `key-${keyName}`;

/**
 * The absolute path of a key's block file, or null when it has no quota or metering is off: what
 * `location /`'s try_files tests first for that key (nginx.conf) and the router compares r.uri with.
 */
export function keyBlockPath(usageDir: string | null, keyName: string, hasQuota: boolean): string | null {
  return usageDir !== null && hasQuota ? `${usagePaths(usageDir).blockedDir}/${keyBlockFile(keyName)}` : null;
}

/** Block file (under <dir>/blocked/) of an upstream whose request limit is used up. */
export function tierBlockFile(plan: FleetPlan, modelId: string): string {
  return `tier-${plan.spec.models.findIndex((m) => m.id === modelId)}`;
}

/** An upstream's limits as a tier location applies them. */
export interface TierLimits {
  /** The block file its location checks before sending (request limits counted with metering), or null. */
  blockFile: string | null;
  /** Its own proxy_read_timeout ("<n>s"), or null for the gateway's. */
  timeout: string | null;
}

/** What a tier location adds for its upstream: a skip check when it has request limits, its own timeout. */
export function tierUsage(plan: FleetPlan, upstreamModelId: string, usage: UsageRenderOptions | null): TierLimits {
  const limits = specOf(plan, upstreamModelId).limits;
  const counted = usage !== null && limits !== undefined && (limits.requestsPerMinute !== undefined || limits.requestsPerDay !== undefined);
  return {
    blockFile: counted ? tierBlockFile(plan, upstreamModelId) : null,
    timeout: limits?.timeoutSeconds !== undefined ? `${limits.timeoutSeconds}s` : null,
  };
}

/** The usage directory's paths (USAGE_LAYOUT under `dir`): fleet.json's `usage`, and what nginx.conf builds on. */
function usagePaths(dir: string): NonNullable<RouterConfig["usage"]> {
  return { dir, blockedDir: `${dir}/${USAGE_LAYOUT.blockedDir}`, logPrefix: `${dir}/${USAGE_LAYOUT.logPrefix}`, logSuffix: USAGE_LAYOUT.logSuffix };
}

/** nginx.conf context of the usage parts, or null when metering is off. */
export function usageNginxContext(usage: UsageRenderOptions | null) {
  if (!usage) return null;
  const paths = usagePaths(usage.dir);
  return {
    dir: paths.dir,
    blockedDir: paths.blockedDir,
    socket: `${paths.dir}/${USAGE_LAYOUT.socket}`,
    logPath: `${paths.logPrefix}$fleet_usage_hour${paths.logSuffix}`,
    logFormat: usageLogFormat(),
  };
}

/** fleet.json's `usage`: where usage.js finds the block files and the usage log, or null without metering. */
export function usageRouterConfig(dir: string | null): RouterConfig["usage"] {
  return dir === null ? null : usagePaths(dir);
}

export function usageServiceConfig(plan: GatewayFleetPlan, usage: UsageRenderOptions): UsageServiceConfig {
  const keys: UsageServiceConfig["keys"] = {};
  for (const [name, k] of Object.entries(plan.gateway.keys)) keys[name] = { quota: k.quota ?? null, admin: k.admin === true, blockFile: keyBlockFile(name) };
  const chains: UsageServiceConfig["chains"] = {};
  for (const m of plan.models) chains[m.id] = [m.id, ...m.tiers];
  const tierLimits: UsageServiceConfig["tierLimits"] = {};
  for (const m of plan.spec.models) {
    const l = m.limits;
    if (!l || (l.requestsPerMinute === undefined && l.requestsPerDay === undefined)) continue;
    tierLimits[m.id] = { requestsPerMinute: l.requestsPerMinute, requestsPerDay: l.requestsPerDay, blockFile: tierBlockFile(plan, m.id) };
  }
  return {
    fleet: plan.name,
    dir: usage.dir,
    pollMs: USAGE_POLL_MS,
    metrics: usage.metrics ? { ...usage.metrics, allow: [...plan.gateway.metricsCidrs] } : null,
    quotaFields: QUOTA_FIELDS,
    recordFields: Object.keys(USAGE_LOG_FIELDS),
    layout: USAGE_LAYOUT,
    keys,
    chains,
    tierLimits,
  };
}
