/**
 * `fleet gateway` with metering: the usage directory (kept between runs, so counts survive a
 * restart), the metrics listener (--metrics-port, loopback only) and the usage service run beside
 * nginx as it runs on the gateway host (node gateway/usage/service.mjs gateway/usage/config.json).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { GatewayFleetPlan } from "../infra/plan/gateway";
import type { UsageRenderOptions } from "../infra/render/usage/gateway";
import { USAGE_SERVICE_CONFIG, USAGE_SERVICE_ENTRY } from "../infra/render/usage/files";

export const USAGE_FLAGS = "[--metrics-port N] [--usage-dir DIR]";

/** The usage options of a local gateway, or an error message; null when metering is off. */
export function localUsageOptions(plan: GatewayFleetPlan, values: { "metrics-port"?: unknown; "usage-dir"?: unknown }): UsageRenderOptions | null | string {
  const port = values["metrics-port"];
  if (plan.gateway.metering !== true) {
    return port === undefined ? null : "--metrics-port needs gateway.metering: true in the spec (the metrics come from the usage service)";
  }
  let metrics: UsageRenderOptions["metrics"];
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) return "--metrics-port must be a port number (1-65535)";
    metrics = { host: "127.0.0.1", port: n };
  }
  const dir = path.resolve(typeof values["usage-dir"] === "string" ? values["usage-dir"] : path.join(".llm-fleet", "usage", plan.name));
  fs.mkdirSync(dir, { recursive: true });
  return { dir, metrics };
}

/** Starts the rendered usage service from `outDir`; it stops with the returned process. */
export function startLocalUsageService(outDir: string): ChildProcess {
  return spawn(process.execPath, [path.join(outDir, USAGE_SERVICE_ENTRY), path.join(outDir, USAGE_SERVICE_CONFIG)], { stdio: "inherit" });
}
