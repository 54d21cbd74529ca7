/**
 * A failover tier opened to every key of a model (`fallbacks.<id>: [{ model, anyKey: true }]`,
 * issue 13 item 1's explicit opt-in): it serves a key that may not ask for its model, while that
 * key still gets 403 asking for the model directly, and tiers without the opt-in still skip it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPlan } from "../../scripts/plan-table";
import { KEYS, resolveTo, testPlan } from "./fleets";
import { call, chat, liveGateway, startGateway, type GatewayProcess } from "./harness";

// chat falls back to coder (opened to every key of chat), then cloud (plain id: its own keys only).
const anyKeyPlan = (gateway: Record<string, unknown> = {}) => testPlan(gateway, { fallbacks: { chat: [{ model: "coder", anyKey: true }, "cloud"] } });
const live = liveGateway({
  plan: () => anyKeyPlan(),
  gateway: { passiveHealth: { maxFails: 0 } },
});
const api = live.api;
const received = (id: string) => live.engines[id]!.flatMap((e) => e.requests);
const failAll = (...ids: string[]) => ids.forEach((id) => live.engines[id]!.forEach((e) => e.setFault({ kind: "status", status: 500 })));

describe("a failover tier that serves every key of the model (anyKey)", () => {
  it("serves a key allowed only chat when chat fails, with coder's name spliced in", async () => {
    failAll("chat");
    // solo may use chat only.
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body: chat("chat") });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-fleet-model")).toBe("coder");
    expect(received("coder")).toHaveLength(1);
    expect(JSON.parse(received("coder")[0]!.body).model).toBe("coder");
  });

  it("still refuses that key asking for the tier's model directly (403), and lists it nowhere", async () => {
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body: chat("coder") });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe("model_not_allowed");
    expect(received("coder")).toHaveLength(0);
    const models = await call(api("/v1/models"), { key: KEYS.solo });
    expect(models.json.data.map((m: { id: string }) => m.id)).not.toContain("coder");
  });

  it("does not open the tier's model by name, lookup or health report, and serves a stream through it", async () => {
    expect((await call(api("/v1/models/coder"), { key: KEYS.solo })).status).toBe(404);
    const health = await call(api("/health"), { key: KEYS.solo });
    expect(Object.keys(health.json.models)).toEqual(["chat"]);
    expect(JSON.stringify(health.json)).not.toContain("coder");
    expect((await call(api("/v1/chat/completions"), { key: KEYS.solo, body: chat("coder", { stream: true }) })).status).toBe(403);
    failAll("chat");
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body: chat("chat-latest", { stream: true }) });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-fleet-model")).toBe("coder");
    expect(r.text).toContain("data: [DONE]");
    expect(received("coder")).toHaveLength(1);
  });

  it("does not open the next tier, which has no opt-in: 503 when chat and coder fail, nothing reaches cloud", async () => {
    failAll("chat", "coder");
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body: chat("chat") });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe("upstream_unavailable");
    expect(received("cloud")).toHaveLength(0);
    // A key allowed cloud is served by it.
    const app = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") });
    expect(app.status).toBe(200);
    expect(app.headers.get("x-fleet-model")).toBe("cloud");
  });
});

describe("the last tier a key may use, before the chain's end", () => {
  let slow: GatewayProcess;
  beforeAll(async () => {
    slow = await startGateway(anyKeyPlan({ readTimeoutSeconds: 1 }), { resolveEndpoint: resolveTo(live.engines), passiveHealth: { maxFails: 0 } });
  });
  afterAll(async () => slow?.stop());

  it("answers 504 when it times out (solo's chain ends at coder; cloud, after it, is not solo's)", async () => {
    failAll("chat");
    live.engines.coder!.forEach((e) => e.setFault({ kind: "delay", ms: 2500 }));
    const r = await call(`${slow.url}/v1/chat/completions`, { key: KEYS.solo, body: chat("chat") });
    expect(r.status).toBe(504);
    expect(r.json.error.code).toBe("upstream_timeout");
    expect(received("cloud")).toHaveLength(0);
  });
});

describe("the plan table's tier chain", () => {
  it("marks the tier opened to every key", () => {
    const text = formatPlan(testPlan({}, { fallbacks: { chat: [{ model: "coder", anyKey: true }, "cloud"] } }), "test");
    expect(text).toContain("chat: failover chat → coder [every key] → cloud");
  });
});
