/** /health (live per-replica probes), /healthz, CORS for configured origins, and the JSON access log. */
import { describe, expect, it } from "vitest";
import { KEYS } from "./fleets";
import { call, chat, liveGateway, waitFor } from "./harness";

const live = liveGateway();
const api = live.api;

describe("/healthz and /health", () => {
  it("answers /healthz without a key", async () => {
    const r = await call(api("/healthz"));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok" });
  });

  it("needs a key for /health, and lists only the key's models", async () => {
    expect((await call(api("/health"))).status).toBe(401);
    const r = await call(api("/health"), { key: KEYS.coder });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok", models: { coder: { engine: "vllm", replicas: 1, healthy: 1, tiers: [] }, sql: { engine: "vllm", replicas: 1, healthy: 1, tiers: [] } } });
  });

  it("asks each replica now: a loading replica and a dead one do not count", async () => {
    const [a, b] = live.engines.chat!;
    a!.setLoading(true);
    let r = await call(api("/health"), { key: KEYS.app });
    expect(r.status).toBe(200);
    expect(r.json.models.chat).toEqual({ engine: "vllm", replicas: 2, healthy: 1, tiers: ["coder", "cloud"] });
    expect(r.json.models.cloud).toEqual({ engine: "external", probed: false, tiers: [] });
    await b!.kill();
    try {
      r = await call(api("/health"), { key: KEYS.app });
      expect(r.status).toBe(503);
      expect(r.json.status).toBe("degraded");
      expect(r.json.models.chat.healthy).toBe(0);
      expect(r.json.models.coder.healthy).toBe(1);
    } finally {
      await b!.restart();
    }
    a!.setLoading(false);
    expect((await call(api("/health"), { key: KEYS.app })).json.models.chat.healthy).toBe(2);
  });
});

describe("CORS", () => {
  const origin = "https://app.example.com";

  it("answers a preflight from a configured origin without a key", async () => {
    const r = await call(api("/v1/chat/completions"), {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os" },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get("access-control-allow-origin")).toBe(origin);
    expect(r.headers.get("access-control-allow-methods")).toBe("GET, POST, OPTIONS");
    expect(r.headers.get("access-control-allow-headers")).toBe("authorization, content-type, x-stainless-os");
    expect(r.headers.get("access-control-max-age")).toBe("600");
    expect(r.headers.get("vary")).toBe("Origin");
  });

  it("gives other origins no CORS headers", async () => {
    const pre = await call(api("/v1/chat/completions"), { method: "OPTIONS", headers: { Origin: "https://evil.example.com", "Access-Control-Request-Method": "POST" } });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.headers.get("access-control-allow-methods")).toBeNull();
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat"), headers: { Origin: "https://evil.example.com" } });
    expect(r.status).toBe(200);
    // The engine's own "Access-Control-Allow-Origin: *" is not passed on.
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("marks answers and errors for a configured origin, so browsers can read both", async () => {
    const ok = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat"), headers: { Origin: origin } });
    expect(ok.headers.get("access-control-allow-origin")).toBe(origin);
    expect(ok.headers.get("access-control-expose-headers")).toContain("Retry-After");
    expect(ok.headers.get("access-control-allow-methods")).toBeNull();
    const denied = await call(api("/v1/chat/completions"), { body: chat("chat"), headers: { Origin: origin } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(origin);
  });
});

describe("access log", () => {
  it("names no upstream for what the router answers itself, and only the engines for a request it rewrote", async () => {
    const models = await call(api("/v1/models"), { key: KEYS.app });
    const unknown = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("nope") });
    const alias = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat-latest") });
    const lineOf = (r: { headers: Headers }) => waitFor(() => live.gw.accessLog().find((l) => l.request_id === r.headers.get("x-request-id")));
    const none = { upstream: "", upstream_status: "", upstream_connect_time: "", upstream_header_time: "", upstream_response_time: "" };
    expect(await lineOf(models)).toMatchObject({ status: "200", ...none });
    expect(await lineOf(unknown)).toMatchObject({ status: "404", ...none });
    const aliased = await lineOf(alias);
    expect(aliased).toMatchObject({ status: "200", upstream_status: "200" });
    expect(live.engines.chat!.map((e) => `127.0.0.1:${e.port}`)).toContain(aliased.upstream);
    expect(aliased.upstream_response_time).toMatch(/^\d+\.\d{3}$/);
  });

  it("writes one JSON line per request with the key's name (never the key), model, upstream, status and timings", async () => {
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat-latest") });
    const denied = await call(api("/v1/chat/completions"), { key: "sk-wrong-0000000000000000", body: chat("chat") });
    const id = r.headers.get("x-request-id")!;
    const line = await waitFor(() => live.gw.accessLog().find((l) => l.request_id === id));
    const ports = live.engines.chat!.map((e) => `127.0.0.1:${e.port}`);
    expect(line).toMatchObject({ key: "app", method: "POST", uri: "/v1/chat/completions", model: "chat", served_by: "chat", tier: "0", status: "200", upstream_status: "200" });
    expect(ports).toContain(line.upstream);
    expect(Number(line.request_time)).toBeGreaterThanOrEqual(0);
    expect(Number(line.upstream_header_time)).toBeGreaterThanOrEqual(0);
    const deniedLine = await waitFor(() => live.gw.accessLog().find((l) => l.request_id === denied.headers.get("x-request-id")));
    expect(deniedLine).toMatchObject({ key: "-", status: "401", model: "" });
    const all = JSON.stringify(live.gw.accessLog()) + live.gw.errorLog();
    for (const key of Object.values(KEYS)) expect(all).not.toContain(key);
    expect(all).not.toContain("sk-wrong-0000000000000000");
  });
});
