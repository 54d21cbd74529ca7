/**
 * Auth, routing by model and path, and every client error, against the real nginx + njs in front
 * of loopback test servers that (like llama-server) answer any model name.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { KEYS } from "./fleets";
import { call, chat, liveGateway } from "./harness";
import { rawRequest } from "./raw-http";

const live = liveGateway();
const api = live.api;
const client = (apiKey: string, base = "/v1") => new OpenAI({ apiKey, baseURL: api(base), maxRetries: 0 });

describe("auth", () => {
  it("answers 401 with an OpenAI error body without a key, with a wrong key or a malformed header", async () => {
    const attempts: Record<string, string>[] = [{}, { Authorization: "Bearer sk-wrong-key-0000000000000" }, { Authorization: KEYS.app }, { Authorization: "Basic abc" }];
    for (const headers of attempts) {
      const r = await call(api("/v1/chat/completions"), { body: chat("chat"), headers });
      expect(r.status).toBe(401);
      expect(r.json.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
      expect(r.headers.get("www-authenticate")).toBe("Bearer");
    }
    expect(live.engines.chat!.every((e) => e.requests.length === 0)).toBe(true);
  });

  it("reads the credential as RFC 9110 writes it: the scheme in any case, spaces or tabs around the key; anything else is 401", async () => {
    const body = JSON.stringify(chat("chat"));
    const send = (authorization: string) => rawRequest(live.gw.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: ${authorization}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // "Bearer <key>" exactly takes the router's fast path (native searches); every other spelling its character walk.
    for (const good of [`Bearer ${KEYS.app}`, `bearer ${KEYS.app}`, `BEARER \t ${KEYS.app} \t`, `Bearer\t${KEYS.app}`, `Bearer  ${KEYS.app}`, `Bearer ${KEYS.app}\t`]) {
      expect((await send(good)).status, JSON.stringify(good)).toBe(200);
    }
    for (const bad of [`Bearer${KEYS.app}`, `Bearer ${KEYS.app} extra`, `Bearer ${KEYS.app}\textra`, `Bearer ${KEYS.app}x`, `Bearer x${KEYS.app}`, `Token ${KEYS.app}`, "Bearer ", "Bearer \t", "Bearer", `Bearers ${KEYS.app}`]) {
      const r = await send(bad);
      expect(r.status, JSON.stringify(bad)).toBe(401);
      expect(JSON.parse(r.body).error.code).toBe("invalid_api_key");
    }
    expect(live.engines.chat!.flatMap((e) => e.requests)).toHaveLength(6);
  });

  it("answers 401 before revealing anything, even on /v1/models and unknown paths", async () => {
    expect((await call(api("/v1/models"))).status).toBe(401);
    expect((await call(api("/nowhere"))).status).toBe(401);
  });

  it("never forwards the client's key to an engine", async () => {
    await client(KEYS.app).chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });
    const seen = live.engines.chat!.flatMap((e) => e.requests);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });
});

describe("routing by model", () => {
  it("serves a model through the official openai client, by id and by alias", async () => {
    const c = client(KEYS.app);
    const byId = await c.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });
    expect(byId.choices[0]!.message.content).toBe("Hello from chat");
    const byAlias = await c.chat.completions.create({ model: "chat-latest", messages: [{ role: "user", content: "hi" }] });
    expect(byAlias.model).toBe("chat");
    // The engine gets the model id it serves, not the alias.
    expect(live.engines.chat!.flatMap((e) => e.requests).map((r) => r.json?.model)).toEqual(["chat", "chat"]);
  });

  it("streams through the openai client", async () => {
    const stream = await client(KEYS.app).chat.completions.create({ model: "coder", stream: true, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("Hello from coder");
  });

  it("routes /v1/completions and /v1/embeddings by model too", async () => {
    const c = client(KEYS.app);
    const done = await c.completions.create({ model: "coder", prompt: "def f():" });
    expect(done.model).toBe("coder");
    const emb = await c.embeddings.create({ model: "sql", input: "x" });
    expect(emb.data[0]!.embedding).toHaveLength(3);
    expect(live.engines.coder![0]!.requests[0]!.path).toBe("/v1/completions");
    expect(live.engines.sql![0]!.requests[0]!.path).toBe("/v1/embeddings");
  });

  it("answers an unknown model with 404 listing the models this key may use, and never asks an engine", async () => {
    const r = await call(api("/v1/chat/completions"), { key: KEYS.coder, body: chat("gpt-4") });
    expect(r.status).toBe(404);
    expect(r.json.error).toMatchObject({ type: "not_found_error", code: "model_not_found" });
    expect(r.json.error.message).toBe('model "gpt-4" does not exist; available: coder, sql');
    expect(Object.values(live.engines).flat().every((e) => e.requests.length === 0)).toBe(true);
  });

  it("answers a model the key may not use with 403", async () => {
    const r = await call(api("/v1/chat/completions"), { key: KEYS.coder, body: chat("chat") });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({ type: "permission_error", code: "model_not_allowed" });
    await expect(client(KEYS.coder).chat.completions.create({ model: "chat", messages: [] })).rejects.toMatchObject({ status: 403 });
  });

  it("balances over replicas by weight (3:1)", async () => {
    for (let i = 0; i < 40; i++) expect((await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") })).status).toBe(200);
    const [heavy, light] = live.engines.chat!.map((e) => e.requests.length);
    expect(heavy! + light!).toBe(40);
    expect(heavy).toBeGreaterThanOrEqual(27);
    expect(heavy).toBeLessThanOrEqual(33);
  });
});

describe("client errors", () => {
  const post = (body: unknown, key: string = KEYS.app) => call(api("/v1/chat/completions"), { key, body });

  it.each([
    ["malformed JSON", '{"model": "chat", "messages": [', "invalid_json"],
    ["a JSON array", "[1, 2]", "invalid_json"],
    ["an empty body", "", "invalid_json"],
    ["no model", chat(undefined), "missing_model"],
    ["a model that is not a string", chat(undefined, { model: 42 }), "invalid_model"],
    ["max_tokens over the model's limit", chat("chat", { max_tokens: 513 }), "max_tokens_too_large"],
    ["max_completion_tokens over the limit of the alias's model", chat("chat-latest", { max_completion_tokens: 10_000 }), "max_tokens_too_large"],
    ["a fractional max_tokens", chat("chat", { max_tokens: 1.5 }), "invalid_max_tokens"],
  ])("answers %s with 400 before any engine sees it", async (_what, body, code) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: "invalid_request_error", code });
    expect(Object.values(live.engines).flat().every((e) => e.requests.length === 0)).toBe(true);
  });

  it("accepts max_tokens at the limit", async () => {
    expect((await post(chat("chat", { max_tokens: 512 }))).status).toBe(200);
  });

  it("answers a body over maxBodyMiB with 413", async () => {
    const big = chat("chat", { messages: [{ role: "user", content: "x".repeat(1024 * 1024 + 10) }] });
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.json.error).toMatchObject({ code: "request_too_large" });
  });

  it("answers wrong methods with 405 and unknown endpoints with 404", async () => {
    expect((await call(api("/v1/chat/completions"), { key: KEYS.app })).status).toBe(405);
    expect((await call(api("/v1/models"), { key: KEYS.app, body: {} })).status).toBe(405);
    const r = await call(api("/v1/images/generations"), { key: KEYS.app, body: chat("chat") });
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe("unknown_endpoint");
  });
});

describe("/v1/models", () => {
  it("lists only the models (ids and aliases) the key may use", async () => {
    const ids = async (key: string) => (await client(key).models.list()).data.map((m) => m.id);
    expect(await ids(KEYS.app)).toEqual(["chat", "chat-latest", "coder", "sql", "cloud"]);
    expect(await ids(KEYS.coder)).toEqual(["coder", "sql"]);
    expect(await ids(KEYS.tight)).toEqual(["chat", "chat-latest"]);
  });

  it("retrieves one model, and 404s one the key may not see", async () => {
    const m = await client(KEYS.app).models.retrieve("chat-latest");
    expect(m).toMatchObject({ id: "chat-latest", alias_of: "chat", object: "model" });
    expect((await call(api("/v1/models/chat"), { key: KEYS.coder })).status).toBe(404);
  });
});

describe("path routes", () => {
  it("POST /text2sql goes to its model without naming it", async () => {
    const r = await call(api("/text2sql"), { key: KEYS.coder, body: chat(undefined) });
    expect(r.status).toBe(200);
    expect(r.json.model).toBe("sql");
    expect(live.engines.sql![0]!.requests[0]!.json?.model).toBe("sql");
  });

  it("works as an OpenAI base URL, and its /v1/models lists only its model", async () => {
    const c = client(KEYS.coder, "/text2sql/v1");
    const r = await c.chat.completions.create({ model: "sql", messages: [{ role: "user", content: "top customers" }] });
    expect(r.model).toBe("sql");
    expect((await c.models.list()).data.map((m) => m.id)).toEqual(["sql"]);
  });

  it("refuses a body naming another model (400) and a key without the route's model (403)", async () => {
    expect((await call(api("/text2sql"), { key: KEYS.coder, body: chat("coder") })).status).toBe(400);
    expect((await call(api("/text2sql"), { key: KEYS.tight, body: chat(undefined) })).status).toBe(403);
  });
});
