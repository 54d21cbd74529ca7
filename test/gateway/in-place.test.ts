/**
 * A skeptic's review of `location /` proxying tier 0 in place (issue 13's speed work): what the
 * router sends through the internal listener instead, and what the engine's own 400 replay does
 * to metering. Real nginx + njs 0.7.9, the usage service as its own process, loopback stubs.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { call, chat, freePort, startGateway, waitFor, type GatewayProcess } from "./harness";
import { USAGE_KEYS, resetStubs, resolveToStubs, startUsageStubs, usagePlan, type UsageStubs } from "./usage-fleet";
import { startUsageService, usageDir, usageLog, type UsageServiceProcess } from "./usage-harness";

describe("an engine's 400 in place, asked again from tier 0's raw location, with metering", () => {
  let stubs: UsageStubs;
  let dir: string;
  let gw: GatewayProcess;
  let service: UsageServiceProcess;
  let metricsPort: number;
  beforeAll(async () => {
    stubs = await startUsageStubs();
    dir = usageDir();
    metricsPort = await freePort();
    gw = await startGateway(usagePlan(true), { clientKeys: { ...USAGE_KEYS }, resolveEndpoint: resolveToStubs(stubs), usage: { dir, metrics: { host: "127.0.0.1", port: metricsPort } } });
    service = await startUsageService(gw.prefix);
  });
  afterAll(async () => {
    await service?.stop();
    await gw?.stop();
    await Promise.all(Object.values(stubs ?? {}).map((s) => s.close()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => resetStubs(stubs));

  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();

  it("reaches the engine twice at most, is one request of the key, and no failover from chat to chat", async () => {
    stubs.chat.fault = { status: 400 };
    const r = await call(`${gw.url}/v1/chat/completions`, { key: USAGE_KEYS.plain, body: chat("chat", { stream: true, stream_options: { include_usage: true } }) });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe(400);
    // The replay is the one extra request (the raw location passes the engine's 400 as it came).
    expect(stubs.chat.bodies).toHaveLength(2);
    expect(stubs.coder.bodies.concat(stubs.cloud.bodies)).toEqual([]);
    const line = await waitFor(() => usageLog(dir).find((l) => l.status === "400"), 5000, "the 400's usage line");
    expect(line).toMatchObject({ key: "plain", model: "chat", tier: "0", ustatus: "400 : 400" });
    const text = await waitFor(async () => {
      const t = await metrics();
      return /llm_fleet_requests_total\{[^}]*key="plain"[^}]*code="400"\} 1\b/.test(t) ? t : undefined;
    }, 5000, "the 400 in the metrics");
    // Asked again is not failed over: Grafana's failover panel must not show chat → chat.
    expect(text).not.toMatch(/llm_fleet_failovers_total\{[^}]*from="chat",to="chat"/);
  });

  it("a failover after the replay is still one: chat's 502 in place goes to coder, counted once", async () => {
    stubs.chat.fault = { status: 502 };
    const r = await call(`${gw.url}/v1/chat/completions`, { key: USAGE_KEYS.plain, body: chat("chat") });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-fleet-tier")).toBe("1");
    const text = await waitFor(async () => {
      const t = await metrics();
      return /llm_fleet_failovers_total\{model="chat",from="chat",to="coder",reason="502"\} 1\b/.test(t) ? t : undefined;
    }, 5000, "the failover in the metrics");
    expect(text).not.toMatch(/from="chat",to="chat"/);
  });
});
