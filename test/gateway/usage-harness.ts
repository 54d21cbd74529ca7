/**
 * The usage service of a test gateway, run as in production: `node gateway/usage/service.mjs
 * gateway/usage/config.json`, as its own process, beside the real nginx. The usage directory is
 * made by the test and outlives nginx and the service, so restarts can be tested.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { superviseChild } from "../support/child";
import { freePort, startGateway, waitFor, type GatewayProcess } from "./harness";
import { USAGE_KEYS, resetStubs, resolveToStubs, startUsageStubs, type UsageStubs } from "./usage-fleet";
import type { FleetPlan } from "../../infra/plan/types";
import { USAGE_LAYOUT } from "../../infra/render/usage/gateway";

/** A usage directory nginx's workers (another user when the tests run as root) can write. */
export function usageDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-usage-"));
  fs.chmodSync(dir, 0o777);
  return dir;
}

export interface UsageServiceProcess {
  stop(): Promise<void>;
  output(): string;
}

/** Starts the rendered service from a gateway prefix; ready once its socket answers. */
export async function startUsageService(prefix: string, options: { clockOffsetMs?: number } = {}): Promise<UsageServiceProcess> {
  const args = [path.join(prefix, "usage/service.mjs"), path.join(prefix, "usage/config.json")];
  if (options.clockOffsetMs) args.push("--clock-offset-ms", String(options.clockOffsetMs));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const supervised = superviseChild(child, 3000);
  await waitFor(() => {
    if (supervised.dead()) throw new Error(`usage service exited:\n${supervised.stderr()}`);
    return supervised.stderr().includes("usage: reading");
  }, 10_000, "the usage service to start");
  return { output: supervised.stderr, stop: supervised.stop };
}

/** Usage-log lines written so far (all hourly files), parsed. */
export function usageLog(dir: string): Record<string, string>[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(USAGE_LAYOUT.logPrefix) && f.endsWith(USAGE_LAYOUT.logSuffix))
    .sort()
    .flatMap((f) => fs.readFileSync(path.join(dir, f), "utf8").split("\n").filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, string>);
}

/** Milliseconds to add to now so that the service's clock reads `secondsBefore` before the next UTC midnight. */
export function offsetToMidnight(secondsBefore: number): number {
  const now = Date.now();
  const d = new Date(now);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return midnight - secondsBefore * 1000 - now;
}

/** startGateway's options for the usage fleet: its keys, the stubs, and metering into `dir` (null: metering off). */
export const meteredGatewayOptions = (stubs: UsageStubs, dir: string | null, metricsPort: number | null = null) => ({
  clientKeys: { ...USAGE_KEYS },
  resolveEndpoint: resolveToStubs(stubs),
  ...(dir ? { usage: { dir, ...(metricsPort !== null ? { metrics: { host: "127.0.0.1", port: metricsPort } } : {}) } } : {}),
});

/**
 * Stub upstreams, a usage directory, nginx for the plan and the usage service beside it, for one
 * describe block: started before its tests, stopped after, stubs reset before each test.
 * `metrics`: the service also serves /metrics on a free loopback port (live.metricsPort).
 */
export function liveMeteredGateway(plan: () => FleetPlan, options: { service?: () => Parameters<typeof startUsageService>[1]; metrics?: boolean } = {}) {
  const live = {} as { stubs: UsageStubs; dir: string; gw: GatewayProcess; service: UsageServiceProcess; metricsPort: number | null };
  beforeAll(async () => {
    live.stubs = await startUsageStubs();
    live.dir = usageDir();
    live.metricsPort = options.metrics ? await freePort() : null;
    live.gw = await startGateway(plan(), meteredGatewayOptions(live.stubs, live.dir, live.metricsPort));
    live.service = await startUsageService(live.gw.prefix, options.service?.());
  });
  afterAll(async () => {
    await live.service?.stop();
    await live.gw?.stop();
    await Promise.all(Object.values(live.stubs ?? {}).map((s) => s.close()));
    if (live.dir) fs.rmSync(live.dir, { recursive: true, force: true });
  });
  beforeEach(() => resetStubs(live.stubs));
  return live;
}
