/**
 * The gateway tried as an attacker would (issue 13 items 1-4, 10, 11): rights widened by
 * failover, duplicate keys, client headers reaching a provider, bodies read before the key is
 * checked, nginx's own error pages, and secrets in logs. Real nginx + njs on loopback in front of
 * test servers that record what they receive; every exchange is bounded in time.
 */
import { describe, expect, it } from "vitest";
import { CLOUD_SECRET, KEYS } from "./fleets";
import { call, chat, liveGateway, sleep } from "./harness";
import { rawRequest } from "./raw-http";

const live = liveGateway({ gateway: { passiveHealth: { maxFails: 0 } } });
const api = live.api;
const received = (id: string) => live.engines[id]!.flatMap((e) => e.requests);
const failAll = (...ids: string[]) => ids.forEach((id) => live.engines[id]!.forEach((e) => e.setFault({ kind: "status", status: 500 })));
const errorLines = () => live.gw.errorLog().split("\n").filter((l) => / \[(error|warn|crit|alert|emerg)\] /.test(l));

describe("failover never widens a key's rights (item 1)", () => {
  it("skips fallback tiers whose model the key may not use: 503, nothing reaches them", async () => {
    failAll("chat");
    // solo may use chat only; chat falls back to coder, then cloud.
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body: chat("chat") });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe("upstream_unavailable");
    expect(received("coder")).toHaveLength(0);
    expect(received("cloud")).toHaveLength(0);
  });

  it("still fails over for a key that may use the fallback model", async () => {
    failAll("chat");
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-fleet-model")).toBe("coder");
  });
});

describe("a body means one thing (item 2)", () => {
  it.each([
    ["twice", '{"model":"coder","model":"chat","messages":[]}'],
    ["twice, once spelled with a \\u escape", '{"mod\\u0065l":"coder","model":"chat","messages":[]}'],
  ])("refuses a body naming model %s, before any engine sees it", async (_what, body) => {
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("duplicate_key");
    expect(Object.values(live.engines).flat().every((e) => e.requests.length === 0)).toBe(true);
  });

  it("routes on the top-level model, not on one nested in the body", async () => {
    const body = '{"messages":[{"role":"user","content":"hi","model":"coder"}],"response_format":{"model":"coder"},"model":"chat"}';
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-fleet-model")).toBe("chat");
    expect(received("chat")[0]!.body).toBe(body);
  });
});

describe("only the gateway's headers reach a provider (item 3)", () => {
  const clientHeaders = {
    "OpenAI-Organization": "org-attacker", "OpenAI-Project": "proj-attacker", Cookie: "session=stolen",
    "Proxy-Authorization": "Basic c2VjcmV0", "X-Api-Key": "sk-client-x", "api-key": "sk-client-azure",
    Forwarded: "for=6.6.6.6", "X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6", "Content-Encoding": "identity",
  };

  it("forwards none of the client's own headers next to the provider key", async () => {
    failAll("chat", "coder");
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat"), headers: clientHeaders });
    expect(r.status).toBe(200);
    const sent = received("cloud")[0]!.headers;
    expect(sent.authorization).toBe(`Bearer ${CLOUD_SECRET.value}`);
    for (const name of Object.keys(clientHeaders)) expect(sent[name.toLowerCase()], name).toBeUndefined();
  });

  it("passes no provider account headers or cookies back to the client", async () => {
    failAll("chat", "coder");
    live.engines.cloud![0]!.setResponseHeaders({
      "Set-Cookie": "__cf_bm=provider; Path=/", "OpenAI-Organization": "org-fleet-owner", "OpenAI-Project": "proj_fleet",
      "X-RateLimit-Remaining-Requests": "4999", "X-Request-Id": "req_provider_internal", "OpenAI-Processing-Ms": "12",
    });
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") });
    expect(r.status).toBe(200);
    for (const name of ["set-cookie", "openai-organization", "openai-project", "x-ratelimit-remaining-requests", "openai-processing-ms"]) {
      expect(r.headers.get(name), name).toBeNull();
    }
    expect(r.headers.get("x-request-id")).toMatch(/^[0-9a-f]{32}$/);
  });

  // nginx 1.22 has no interim replies from an upstream: it sends a 1xx on as the final status, and
  // the provider's real reply after it as that reply's body, its own headers (Set-Cookie, account
  // ids) unhidden and its usage unread. An HTTP client reads the bytes after a 1xx as the answer.
  it.each([
    ["103 Early Hints", "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"],
    ["100 Continue", "HTTP/1.1 100 Continue\r\n\r\n"],
    ["a status under 100", "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"],
  ])("a provider's %s before its answer: its headers and reply never reach the client; the connection is closed, one error line", async (_what, interim) => {
    failAll("chat", "coder");
    const answer = JSON.stringify({ id: "x", object: "chat.completion", model: "provider/chat-large", choices: [] });
    const own = `Set-Cookie: __cf_bm=provider; Path=/\r\nOpenAI-Organization: org-fleet-owner\r\nContent-Type: application/json\r\nContent-Length: ${answer.length}\r\n\r\n${answer}`;
    live.engines.cloud![0]!.setFault({ kind: "raw", bytes: `${interim}HTTP/1.1 200 OK\r\n${own}` });
    const before = errorLines().length;
    const r = await rawRequest(live.gw.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${KEYS.app}\r\nContent-Type: application/json\r\nContent-Length: ${CHAT_BODY.length}\r\n\r\n${CHAT_BODY}`, 3000);
    expect(received("cloud")).toHaveLength(1);
    expect(r.raw).not.toContain("org-fleet-owner");
    expect(r.raw).not.toContain("__cf_bm");
    expect(r.raw).not.toContain('"chat.completion"');
    expect(r.raw).not.toMatch(/^HTTP\/1\.1 1\d\d|^HTTP\/1\.1 0/);
    await sleep(50);
    const lines = errorLines().slice(before);
    expect(lines).toHaveLength(1);
    // Named by the upstream that answered, not every one the request went through.
    expect(lines[0]).toContain(`upstream 127.0.0.1:${live.engines.cloud![0]!.port} answered ${interim.slice(9, 12).replace(/^0/, "")} (an interim or invalid status); connection closed`);
    expect(live.gw.errorLog()).not.toContain(KEYS.app);
    expect(live.gw.accessLog().at(-1)).toMatchObject({ status: "502", served_by: "cloud" });
  });
});
const CHAT_BODY = JSON.stringify(chat("chat"));

describe("the key is checked before the body is read (item 4)", () => {
  it.each([
    ["no key", ""],
    ["an unknown key", "Authorization: Bearer sk-not-a-key-0123456789abcdef\r\n"],
  ])("answers %s 401 at once, while the body is still on its way", async (_what, auth) => {
    // 1 MiB announced (the test fleet's maxBodyMiB), 16 bytes sent, then the client stalls.
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n${auth}Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{"model":"chat",`;
    const r = await rawRequest(live.gw.port, head, 2000);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error.code).toBe("invalid_api_key");
    expect(r.headers["www-authenticate"]).toBe("Bearer");
  });
});

describe("every answer is JSON with the right status, one log line at most (item 10)", () => {
  const cases: [string, string | (() => string), number][] = [
    ["a NUL in the path", "GET /v1/chat/completions%00 HTTP/1.1\r\nHost: gw\r\n\r\n", 400],
    ["TRACE", "TRACE / HTTP/1.1\r\nHost: gw\r\n\r\n", 405],
    ["HTTP/9.9", "GET /v1/models HTTP/9.9\r\nHost: gw\r\n\r\n", 505],
    ["Transfer-Encoding: gzip", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["a header over nginx's buffers", () => `GET /v1/models HTTP/1.1\r\nHost: gw\r\nX-Big: ${"a".repeat(12_000)}\r\n\r\n`, 400],
    ["a URI over nginx's buffers", () => `GET /v1/${"a".repeat(12_000)} HTTP/1.1\r\nHost: gw\r\n\r\n`, 414],
    ["HTTP/1.1 without Host", "GET /v1/models HTTP/1.1\r\n\r\n", 400],
  ];
  it.each(cases)("answers %s", async (_what, request, status) => {
    const before = errorLines().length;
    const r = await rawRequest(live.gw.port, typeof request === "string" ? request : request(), 2000);
    expect(r.status).toBe(status);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r.body).error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    await sleep(50);
    expect(errorLines().length - before).toBeLessThanOrEqual(1);
  });
});

describe("nothing leaks and the logs stay sane (item 11)", () => {
  it("lists on /health only the fallback tiers the key may use", async () => {
    const r = await call(api("/health"), { key: KEYS.solo });
    expect(r.json.models.chat.tiers).toEqual([]);
    expect(Object.keys(r.json.models)).toEqual(["chat"]);
  });

  it("calls a max_tokens of the wrong type invalid, not too large", async () => {
    const r = await call(api("/v1/chat/completions"), { key: KEYS.solo, body: chat("chat", { max_tokens: "10" }) });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_max_tokens");
  });

  it("never writes a key sent in the query string to the error log", async () => {
    // Oversized, so nginx would log the request (and its query) before any handler runs.
    const url = api(`/v1/chat/completions?api_key=${KEYS.app}`);
    const r = await call(url, { key: KEYS.app, body: chat("chat", { pad: "x".repeat(1_100_000) }) });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("query_not_allowed");
    await sleep(50);
    expect(live.gw.errorLog()).not.toContain(KEYS.app);
  });

  it("writes no error line for a 429", async () => {
    const before = errorLines().length;
    const statuses: number[] = [];
    // tight: 60/min, burst 2.
    for (let i = 0; i < 5; i++) statuses.push((await call(api("/v1/chat/completions"), { key: KEYS.tight, body: chat("chat") })).status);
    expect(statuses).toContain(429);
    await sleep(50);
    expect(errorLines().slice(before)).toEqual([]);
  });
});
