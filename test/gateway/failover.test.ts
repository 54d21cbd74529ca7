/**
 * Retries and failover: another replica when one fails before the first byte (POST included), a
 * replica killed under load, tier failover with the tier's model name and key, 503 when every
 * tier failed, 504 on timeout, and what happens when a stream breaks after its first byte.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOUD_SECRET, closeEngines, KEYS, resolveTo, startEngines, testPlan } from "./fleets";
import { call, chat, type GatewayProcess, liveGateway, sleep, startGateway, waitFor } from "./harness";

// No passive health here (max_fails=0): every test starts with every replica in rotation.
// Passive health has its own gateway below.
const live = liveGateway({ gateway: { passiveHealth: { maxFails: 0 } } });
const api = live.api;
const openai = () => new OpenAI({ apiKey: KEYS.app, baseURL: api("/v1"), maxRetries: 0 });
const all = (id: string) => live.engines[id]!;
const received = (id: string) => all(id).flatMap((e) => e.requests);

describe("another replica of the same model", () => {
  it.each([
    ["answers 503", { kind: "status", status: 503 } as const],
    ["answers 502", { kind: "status", status: 502 } as const],
    ["resets the connection before answering", { kind: "close" } as const],
  ])("retries a POST on the other replica when one %s", async (_what, fault) => {
    const [a, b] = all("chat");
    a!.setFault(fault);
    for (let i = 0; i < 4; i++) {
      const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") });
      expect(r.status).toBe(200);
      expect(r.json.model).toBe("chat");
      expect(r.headers.get("x-fleet-tier")).toBe("0");
    }
    expect(b!.requests.length).toBe(4);
    expect(received("coder")).toHaveLength(0);
  });

  it("loses no request when a replica is killed under load", async () => {
    const [a, b] = all("chat");
    a!.setFault({ kind: "delay", ms: 150 });
    b!.setFault({ kind: "delay", ms: 150 });
    const c = openai();
    const load = Array.from({ length: 24 }, async (_, i) => {
      await sleep(i * 15);
      return c.chat.completions.create({ model: "chat", messages: [{ role: "user", content: `q${i}` }] });
    });
    await waitFor(() => a!.inFlight > 0, 3000, "requests in flight on the replica");
    await a!.kill();
    const results = await Promise.allSettled(load);
    await a!.restart();
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toEqual([]);
    expect(results.every((r) => r.status === "fulfilled" && r.value.model === "chat")).toBe(true);
    // Requests that were on the killed replica were answered again by the other one.
    expect(b!.requests.length).toBeGreaterThan(results.length - a!.requests.length);
    expect(received("coder")).toHaveLength(0);
  });
});

describe("passive health (max_fails / fail_timeout)", () => {
  let passive: GatewayProcess;
  beforeAll(async () => {
    passive = await startGateway(testPlan(), { resolveEndpoint: resolveTo(live.engines), passiveHealth: { maxFails: 2, failTimeoutSeconds: 30 } });
  });
  afterAll(async () => passive?.stop());

  it("stops trying a dead replica after max_fails failures", async () => {
    const [a, b] = all("chat");
    await a!.kill();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await call(`${passive.url}/v1/chat/completions`, { key: KEYS.app, body: chat("chat") });
        expect(r.status).toBe(200);
        ids.push(r.headers.get("x-request-id")!);
      }
      const lines = await waitFor(() => {
        const log = passive.accessLog().filter((l) => ids.includes(l.request_id));
        return log.length === ids.length && log;
      });
      const triedDead = lines.filter((l) => l.upstream.includes(`:${a!.port}`));
      expect(triedDead.length).toBe(2);
      expect(lines.every((l) => l.upstream.endsWith(`:${b!.port}`))).toBe(true);
    } finally {
      await a!.restart();
    }
  });
});

describe("failover tiers", () => {
  it("goes to the next tier (another fleet model) with that model's name in the body", async () => {
    for (const e of all("chat")) e.setFault({ kind: "status", status: 503 });
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat-latest", { temperature: 0.2 }) });
    expect(r.status).toBe(200);
    expect(r.json.model).toBe("coder");
    expect(r.headers.get("x-fleet-model")).toBe("coder");
    expect(r.headers.get("x-fleet-tier")).toBe("1");
    const forwarded = received("coder")[0]!;
    expect(forwarded.json).toEqual({ model: "coder", messages: [{ role: "user", content: "hi" }], temperature: 0.2 });
    expect(forwarded.headers.authorization).toBeUndefined();
  });

  it("goes on to an external provider with its upstream model name and its key, never the client's", async () => {
    for (const e of [...all("chat"), ...all("coder")]) e.setFault({ kind: "status", status: 500 });
    const text = "Grüße, 世界 — ✓";
    const r = await openai().chat.completions.create({ model: "chat", messages: [{ role: "user", content: text }], max_tokens: 100 });
    expect(r.model).toBe("provider/chat-large");
    const forwarded = received("cloud")[0]!;
    expect(forwarded.path).toBe("/v1/chat/completions");
    expect(forwarded.json).toEqual({ model: "provider/chat-large", messages: [{ role: "user", content: text }], max_tokens: 100 });
    expect(forwarded.headers.authorization).toBe(`Bearer ${CLOUD_SECRET.value}`);
    expect(forwarded.headers.host).toBe("api.provider.example");
    expect(JSON.stringify(forwarded.headers)).not.toContain(KEYS.app);
  });

  it("drops the engine-only sampling fields when it fails over to an external provider", async () => {
    for (const e of [...all("chat"), ...all("coder")]) e.setFault({ kind: "status", status: 500 });
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat", { temperature: 0.2, top_p: 0.9, top_k: 20, min_p: 0.05, repetition_penalty: 1.05 }) });
    expect(r.status).toBe(200);
    expect(received("cloud")[0]!.json).toEqual({ model: "provider/chat-large", messages: [{ role: "user", content: "hi" }], temperature: 0.2, top_p: 0.9 });
  });

  it("fails a stream over before its first byte, and the client sees one clean stream", async () => {
    for (const e of all("chat")) e.setFault({ kind: "close" });
    const stream = await openai().chat.completions.create({ model: "chat", stream: true, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    const models = new Set<string>();
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      models.add(chunk.model);
    }
    expect(text).toBe("Hello from coder");
    expect([...models]).toEqual(["coder"]);
  });

  it("answers 503 with an OpenAI error when every tier failed", async () => {
    for (const id of ["chat", "coder", "cloud"]) for (const e of all(id)) e.setFault({ kind: "status", status: 503 });
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") });
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({ type: "server_error", code: "upstream_unavailable" });
    expect(r.json.error.message).toContain("model chat");
    expect(received("chat").length).toBe(2);
    expect(received("coder").length).toBe(1);
    expect(received("cloud").length).toBe(1);
    const entry = await waitFor(() => live.gw.accessLog().find((l) => l.request_id === r.headers.get("x-request-id")));
    expect(entry).toMatchObject({ status: "503", model: "chat" });
    expect(entry.upstream_status.split(/[,:] /)).toHaveLength(4);
  });

  it("does not fail over client errors of an engine (a 400 passes through)", async () => {
    all("coder")[0]!.setFault({ kind: "status", status: 400 });
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("coder") });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe("fault injected: 400");
  });
});

describe("upstream keys", () => {
  it("treats a tier that refuses the gateway's key as failed: 503 for the client, the cause in the error log", async () => {
    const noSecret = await startGateway(testPlan(), { resolveEndpoint: resolveTo(live.engines), env: { [CLOUD_SECRET.env]: "" } });
    try {
      for (const e of [...all("chat"), ...all("coder")]) e.setFault({ kind: "status", status: 503 });
      const r = await call(`${noSecret.url}/v1/chat/completions`, { key: KEYS.app, body: chat("chat") });
      expect(r.status).toBe(503);
      expect(received("cloud")[0]!.headers.authorization).toBeUndefined();
      expect(noSecret.errorLog()).toContain(`environment variable ${CLOUD_SECRET.env} is not set`);
    } finally {
      await noSecret.stop();
    }
  });

  it("sends the fleet's engine key to its own live.engines when one is configured", async () => {
    const engineKey = { env: "LLM_FLEET_SECRET_ENGINE_KEY", value: "sk-engine-0123456789abcdef" };
    const plan = testPlan();
    const keyed = await startEngines(plan, { apiKey: engineKey.value });
    const g = await startGateway(plan, { resolveEndpoint: resolveTo(keyed), engineKeySecret: "engine-key", env: { [engineKey.env]: engineKey.value } });
    try {
      const r = await call(`${g.url}/v1/chat/completions`, { key: KEYS.app, body: chat("coder") });
      expect(r.status).toBe(200);
      expect(keyed.coder![0]!.requests[0]!.headers.authorization).toBe(`Bearer ${engineKey.value}`);
    } finally {
      await g.stop();
      await closeEngines(keyed);
    }
  });
});

describe("a stream that breaks after its first byte", () => {
  it("is neither retried nor failed over: the client gets an error, not a silently short answer", async () => {
    // Documented behaviour: once bytes reached the client, nginx cannot retry (the 200 and the
    // first chunks are gone); it closes the connection without the final chunk, so clients see
    // a transport error instead of a stream that looks complete.
    for (const e of all("chat")) {
      e.setFault({ kind: "close-mid-stream", afterChunks: 1 });
      e.setChunkDelay(20);
    }
    const stream = await openai().chat.completions.create({ model: "chat", stream: true, messages: [{ role: "user", content: "hi" }] });
    const chunks: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta.content ?? "");
      })(),
    ).rejects.toThrow();
    expect(chunks.join("")).toBe("Hello");
    expect(received("chat")).toHaveLength(1);
    expect(received("coder")).toHaveLength(0);
  });
});

describe("timeouts", () => {
  let slow: GatewayProcess;
  beforeAll(async () => {
    slow = await startGateway(testPlan({ readTimeoutSeconds: 1 }), { resolveEndpoint: resolveTo(live.engines) });
  });
  afterAll(async () => slow?.stop());

  it("answers 504 when the model's last tier does not answer within readTimeoutSeconds", async () => {
    all("coder")[0]!.setFault({ kind: "delay", ms: 2500 });
    const started = Date.now();
    const r = await call(`${slow.url}/v1/chat/completions`, { key: KEYS.app, body: chat("coder") });
    expect(r.status).toBe(504);
    expect(r.json.error).toMatchObject({ type: "timeout_error", code: "upstream_timeout" });
    expect(Date.now() - started).toBeLessThan(2400);
  });

  it("waits for a slow first token that comes within readTimeoutSeconds", async () => {
    all("coder")[0]!.setFault({ kind: "delay", ms: 600 });
    const r = await call(`${slow.url}/v1/chat/completions`, { key: KEYS.app, body: chat("coder", { stream: true }) });
    expect(r.status).toBe(200);
    expect(r.text).toContain("data: [DONE]");
  });
});
