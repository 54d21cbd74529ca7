/**
 * The gateway probed as a careless or hostile client (issue 13, second pass): odd and duplicate
 * headers, body shapes, paths, methods, upstream failures mid-way, a restricted key reaching for
 * another model. Real nginx + njs on loopback; every exchange bounded in time.
 */
import { describe, expect, it } from "vitest";
import { KEYS } from "./fleets";
import { call, chat, liveGateway, sleep } from "./harness";
import { rawRequest, type RawReply } from "./raw-http";

const live = liveGateway({ gateway: { passiveHealth: { maxFails: 0 } } });
const api = live.api;
const received = (id: string) => live.engines[id]!.flatMap((e) => e.requests);
const nothingReceived = () => Object.values(live.engines).flat().every((e) => e.requests.length === 0);
const raw = (req: string | Buffer, ms = 2000) => rawRequest(live.gw.port, req, ms);
/**
 * A POST as raw bytes. The solo key may hold one request at a time, and nginx frees its slot only
 * when it has finished the previous request (after this side closed): a 429 for solo is retried.
 */
async function post(path: string, body: string | Buffer, extra = ""): Promise<RawReply> {
  const bytes = Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);
  for (let i = 0; ; i++) {
    const r = await raw(bytes);
    if (r.status !== 429 || !extra.includes(KEYS.solo) || i === 5) return r;
    await sleep(100);
  }
}
const authHdr = (k: string) => `Authorization: Bearer ${k}\r\n`;
const CHAT = JSON.stringify(chat("chat"));

/** An OpenAI-style JSON error with this status. */
function expectError(r: RawReply, status: number, code?: string) {
  expect(r.status, r.raw.slice(0, 300)).toBe(status);
  expect(r.headers["content-type"]).toBe("application/json");
  const e = JSON.parse(r.body).error;
  expect(e).toMatchObject({ message: expect.any(String), type: expect.any(String), code: expect.any(String) });
  if (code) expect(e.code).toBe(code);
}

describe("Authorization headers", () => {
  it("two Authorization headers (a valid one and another): refused, nothing reaches an engine", async () => {
    const r = await post("/v1/chat/completions", CHAT, authHdr(KEYS.solo) + authHdr(KEYS.app));
    expect(r.status).not.toBe(200);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(nothingReceived()).toBe(true);
  });
  it.each([["trailing spaces", `Bearer ${KEYS.solo}   `], ["lower-case scheme", `bearer ${KEYS.solo}`], ["upper-case scheme", `BEARER ${KEYS.solo}`]])(
    "accepts %s", async (_w, v) => {
      const r = await post("/v1/chat/completions", CHAT, `Authorization: ${v}\r\n`);
      expect(r.status, r.body).toBe(200);
    });
  it.each([["Bearer with nothing", "Bearer"], ["Bearer and spaces", "Bearer    "], ["Basic", "Basic c2s6eA=="], ["two tokens", `Bearer ${KEYS.solo} ${KEYS.app}`]])(
    "answers %s 401 JSON", async (_w, v) => {
      expectError(await post("/v1/chat/completions", CHAT, `Authorization: ${v}\r\n`), 401);
    });
  // bearerToken reads "Bearer <key>" with native searches and every other spelling character by
  // character (SP, HTAB, VT, FF are spaces): both must give the same answer for the same bytes.
  it.each([
    ["a tab after the scheme", `Bearer\t${KEYS.app}`, 200],
    ["two spaces after the scheme", `Bearer  ${KEYS.app}`, 200],
    ["a VT after the key", `Bearer ${KEYS.app}\x0b`, 200],
    ["an FF before the key", `Bearer \x0c${KEYS.app}`, 200],
    ["a VT inside the key", `Bearer ${KEYS.app.slice(0, 8)}\x0b${KEYS.app.slice(8)}`, 401],
    ["the key then a VT and more", `Bearer ${KEYS.app}\x0bx`, 401],
    ["the key then a no-break space (0xA0)", `Bearer ${KEYS.app}\xa0`, 401],
    ["the key then a UTF-8 no-break space", Buffer.from(`Bearer ${KEYS.app}\u00a0`, "utf8").toString("latin1"), 401],
    ["the key with its last character cut", `Bearer ${KEYS.app.slice(0, -1)}`, 401],
    ["the key and one more character", `Bearer ${KEYS.app}x`, 401],
    ["Bearer and seven spaces", "Bearer       ", 401],
    ["a 7 kB token", `Bearer ${"k".repeat(7000)}`, 401],
  ])("%s: %i", async (_w, v, status) => {
    // The header's bytes as written (latin1: one byte per character), not UTF-8-encoded again.
    const r = await raw(Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: ${v}\r\nContent-Length: ${CHAT.length}\r\n\r\n${CHAT}`, "latin1"));
    if (status === 200) expect(r.status, r.body).toBe(200);
    else expectError(r, status);
  });
  it.each([["api-key"], ["x-api-key"]])("a key in %s alone is 401 JSON", async (h) => {
    expectError(await post("/v1/chat/completions", CHAT, `${h}: ${KEYS.app}\r\n`), 401);
  });
});

describe("body shapes", () => {
  const cases: [string, string, number, string?][] = [
    ["model a number", '{"model":5,"messages":[]}', 400, "invalid_model"],
    ["model null", '{"model":null,"messages":[]}', 400],
    ["model an object", '{"model":{"id":"chat"},"messages":[]}', 400, "invalid_model"],
    ["model only nested", '{"messages":[{"role":"user","content":"hi","model":"chat"}]}', 400, "missing_model"],
    ['"model" inside a string value', '{"messages":[{"role":"user","content":"\\"model\\":\\"chat\\""}]}', 400, "missing_model"],
    ["a JSON array", '[{"model":"chat"}]', 400],
    ["a JSON string", '"chat"', 400],
    ["trailing garbage", CHAT + "garbage", 400, "invalid_json"],
    ["two objects", CHAT + CHAT, 400, "invalid_json"],
    ["empty body", "", 400],
    ["whitespace body", "   \n", 400],
    ["a UTF-8 BOM", "\ufeff" + CHAT, 400],
    ["model with a \\u escape in its value, unknown name", '{"model":"ch\\u0061t","messages":[]}', 200],
    ["max_tokens 0", JSON.stringify(chat("chat", { max_tokens: 0 })), 400, "invalid_max_tokens"],
    ["max_tokens 1e2", '{"model":"chat","messages":[],"max_tokens":1e2}', 200],
    ["max_tokens 1e400", '{"model":"chat","messages":[],"max_tokens":1e400}', 400],
    ["max_tokens twice", '{"model":"chat","messages":[],"max_tokens":1,"max_tokens":100000}', 400, "duplicate_key"],
    ["max_tokens escaped twice", '{"model":"chat","messages":[],"max_tokens":1,"max_tok\\u0065ns":100000}', 400, "duplicate_key"],
    ["model empty string", '{"model":"","messages":[]}', 400, "missing_model"],
    // Past njs's JSON.parse depth (32) the members are read one by one; a member the router reads
    // nested that deep cannot be what the API means by it: 400, not the router's 500.
    ["model a list nested 40 deep", `{"model":${"[".repeat(40)}${"]".repeat(40)},"messages":[]}`, 400],
    ["max_tokens a list nested 40 deep", `{"model":"chat","messages":[],"max_tokens":${"[".repeat(40)}${"]".repeat(40)}}`, 400],
  ];
  it.each(cases)("%s", async (_w, body, status, code) => {
    // app: no concurrency limit of 1 (solo's) that a just-closed connection may still hold.
    const r = await post("/v1/chat/completions", body, authHdr(KEYS.app));
    if (status === 200) {
      expect(r.status, r.body).toBe(200);
    } else {
      expectError(r, status, code);
      expect(nothingReceived()).toBe(true);
    }
  });
  it("a body over the limit: 413 JSON", async () => {
    const big = JSON.stringify(chat("chat", { pad: "x".repeat(1_100_000) }));
    expectError(await post("/v1/chat/completions", big, authHdr(KEYS.solo)), 413);
  });
  it("a body over the limit with no key: a JSON error, no engine reached", async () => {
    // nginx checks Content-Length against client_max_body_size when it picks the location,
    // before any key check: 413 (the limit is no secret), the body is discarded, never buffered.
    const big = JSON.stringify(chat("chat", { pad: "x".repeat(1_100_000) }));
    const r = await post("/v1/chat/completions", big);
    expect([401, 413]).toContain(r.status);
    expectError(r, r.status);
    expect(nothingReceived()).toBe(true);
  });
  it("a chunked body is routed and reaches the engine byte for byte", async () => {
    const a = CHAT.slice(0, 10), b = CHAT.slice(10);
    const chunked = `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`;
    const r = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${authHdr(KEYS.solo)}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`);
    expect(r.status, r.body).toBe(200);
    expect(received("chat")[0]!.body).toBe(CHAT);
  });
  it("a chunked body with UTF-8 and an alias is routed", async () => {
    const body = JSON.stringify(chat("chat-latest", { messages: [{ role: "user", content: "héllo ✓" }] }));
    const buf = Buffer.from(body);
    const r = await raw(Buffer.concat([Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${authHdr(KEYS.solo)}Transfer-Encoding: chunked\r\n\r\n${buf.length.toString(16)}\r\n`), buf, Buffer.from("\r\n0\r\n\r\n")]));
    expect(r.status, r.body).toBe(200);
    expect(received("chat")[0]!.json!.messages).toEqual([{ role: "user", content: "héllo ✓" }]);
  });
  it("Expect: 100-continue gets its 100 and then the answer", async () => {
    const r = await post("/v1/chat/completions", CHAT, authHdr(KEYS.solo) + "Expect: 100-continue\r\n");
    expect(r.raw).toMatch(/^HTTP\/1\.1 100 Continue/);
  });
  it("Expect: 100-continue with no key ends in a 401 JSON", async () => {
    // nginx 1.22 sends "100 Continue" when it discards the body of a request it answers without
    // reading it (ngx_http_discard_request_body → ngx_http_test_expect); the body is read and
    // dropped, never kept. The final answer is the 401.
    const r = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{}`);
    const final = r.raw.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, "");
    expect(final).toMatch(/^HTTP\/1\.1 401 /);
    expect(JSON.parse(final.slice(final.indexOf("\r\n\r\n") + 4)).error.code).toBe("invalid_api_key");
  });
});

describe("paths and methods", () => {
  const get = (p: string, method = "GET", k: string = KEYS.app) => raw(`${method} ${p} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${authHdr(k)}\r\n`);
  it.each([["/v1/chat/completions/", 404], ["//v1/chat/completions", 405], ["/v1/%63hat/completions", 405], ["/v1/../v1/models", 200], ["/v1/models/", 404], ["/v1/./models", 200], ["/v1/models%2F", 404], ["/V1/models", 404]])(
    "GET %s → %d", async (p, status) => {
      const r = await get(p);
      if (status === 200) expect(r.status, r.body).toBe(200);
      else expectError(r, status);
    });
  it("POST //v1/chat/completions → JSON (404 or routed)", async () => {
    const r = await post("//v1/chat/completions", CHAT, authHdr(KEYS.solo));
    if (r.status !== 200) expectError(r, 404);
  });
  it("../ above the root: 400 JSON", async () => expectError(await get("/../v1/models"), 400));
  it("HEAD /v1/models: no body, 405 or 200", async () => {
    const r = await get("/v1/models", "HEAD");
    expect([200, 405]).toContain(r.status);
  });
  it("HEAD /v1/chat/completions: 405", async () => {
    const r = await get("/v1/chat/completions", "HEAD");
    expect(r.status).toBe(405);
  });
  it("OPTIONS without an allowed origin: no key needed, but no open door", async () => {
    const r = await get("/v1/chat/completions", "OPTIONS", "nope");
    expect([204, 405]).toContain(r.status);
  });
  it.each(["PUT", "DELETE", "PATCH", "PROPFIND"])("%s /v1/chat/completions: 405 JSON", async (m) => {
    expectError(await get("/v1/chat/completions", m), 405);
  });
  it("GET /v1/chat/completions: 405 JSON", async () => expectError(await get("/v1/chat/completions"), 405));
  it("GET /healthz with a query: JSON", async () => {
    const r = await get("/healthz?x=1");
    expect(r.headers["content-type"]).toBe("application/json");
  });
});

describe("framing", () => {
  const H = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${authHdr(KEYS.app)}`;
  it.each([
    ["two Content-Length headers", `${H}Content-Length: ${CHAT.length}\r\nContent-Length: 5\r\n\r\n${CHAT}`, 400],
    ["Content-Length and chunked", `${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
    ["a negative Content-Length", `${H}Content-Length: -1\r\n\r\n`, 400],
    ["a bad chunk size", `${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, 400],
    ["a header line with no colon", `${H}Bogus\r\n\r\n`, 400],
    ["an HTTP/1.0 POST with no length", `POST /v1/chat/completions HTTP/1.0\r\n${authHdr(KEYS.app)}\r\n${CHAT}`, 400],
  ])("%s: %d JSON", async (_w, req, status) => {
    const r = await raw(req);
    if (r.status !== status) expect([status, 411]).toContain(r.status);
    expectError(r, r.status);
    expect(nothingReceived()).toBe(true);
  });
});

describe("requests pipelined on one connection", () => {
  /** Sends the requests in one write (the last one closes) and returns each reply's status, in order. */
  async function pipelined(...requests: string[]): Promise<number[]> {
    const r = await rawRequest(live.gw.port, requests.join(""), 3000, true);
    return [...r.raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  }
  const req = (body: string, auth: string, connection = "keep-alive", path = "/v1/chat/completions") =>
    `POST ${path} HTTP/1.1\r\nHost: gw\r\nConnection: ${connection}\r\nContent-Type: application/json\r\n${auth}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const CODER = JSON.stringify(chat("coder"));

  it("a 401's body that is itself a request with a valid key is dropped, never run; the next request is answered with its own key's rights", async () => {
    const smuggled = req(CODER, authHdr(KEYS.app));
    const models = `GET /v1/models HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${authHdr(KEYS.solo)}\r\n`;
    const r = await rawRequest(live.gw.port, req(smuggled, "") + models, 3000, true);
    expect([...r.raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1])).toEqual(["401", "200"]);
    expect(nothingReceived()).toBe(true);
    expect(r.raw.slice(r.raw.lastIndexOf("\r\n\r\n"))).not.toContain("coder");
  });

  it("after a 404, a 403, a 405 and a 429 on the same connection, each next request reaches the model it names, as its own key", async () => {
    const statuses = await pipelined(
      req(JSON.stringify(chat("no-such-model")), authHdr(KEYS.app)),
      req(CODER, authHdr(KEYS.solo)),
      `GET /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n${authHdr(KEYS.app)}Content-Length: ${CODER.length}\r\n\r\n${CODER}`,
      // tight (used by no other test here): one request and a burst of 2, so the fourth in a row is
      // refused by nginx's limit_req.
      ...[1, 2, 3, 4].map(() => req(CHAT, authHdr(KEYS.tight))),
      req(CODER, authHdr(KEYS.coder), "close"),
    );
    expect(statuses).toEqual([404, 403, 405, 200, 200, 200, 429, 200]);
    expect(received("chat")).toHaveLength(3);
    expect(received("coder").map((q) => q.json?.model)).toEqual(["coder"]);
    const log = live.gw.accessLog().slice(-8).map((e) => [e.status, e.key]);
    expect(log).toEqual([["404", "app"], ["403", "solo"], ["405", "app"], ["200", "tight"], ["200", "tight"], ["200", "tight"], ["429", "tight"], ["200", "coder"]]);
  });

  it("a chunked body with a chunk extension and a trailer (an Authorization line in it) is routed; the trailer goes nowhere, and the connection serves the next request", async () => {
    const statuses = await pipelined(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n${authHdr(KEYS.app)}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${CODER.length.toString(16)};ext=1\r\n${CODER}\r\n0\r\nAuthorization: Bearer ${KEYS.coder}\r\nX-Trailer: 1\r\n\r\n`,
      `HEAD /v1/models HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${authHdr(KEYS.app)}\r\n`,
    );
    expect(statuses[0]).toBe(200);
    expect(statuses).toHaveLength(2);
    const sent = received("coder")[0]!;
    expect(sent.body).toBe(CODER);
    expect(sent.headers["x-trailer"]).toBeUndefined();
    expect(live.gw.accessLog().at(-2)).toMatchObject({ key: "app", status: "200" });
  });

  it("an HTTP/1.0 client keeping its connection: a 401 and then its answer, a stream sent to the end without chunks", async () => {
    const r = await rawRequest(live.gw.port,
      req(CHAT, "", "keep-alive").replace("HTTP/1.1", "HTTP/1.0") +
      req(JSON.stringify(chat("chat", { stream: true })), authHdr(KEYS.app), "close").replace("HTTP/1.1", "HTTP/1.0"), 3000, true);
    expect([...r.raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1])).toEqual(["401", "200"]);
    const stream = r.raw.slice(r.raw.lastIndexOf("HTTP/1.1 200"));
    expect(stream).not.toMatch(/transfer-encoding/i);
    expect(stream.trimEnd()).toMatch(/data: \[DONE\]$/);
  });
});

describe("upstream failures mid-way", () => {
  it("engine closes after the first SSE chunk: the client sees a broken transfer, not a complete stream", async () => {
    live.engines.chat!.forEach((e) => { e.setFault({ kind: "close-mid-stream", afterChunks: 1 }); e.setChunkDelay(100); });
    const r = await post("/v1/chat/completions", JSON.stringify(chat("chat", { stream: true })), authHdr(KEYS.solo));
    expect(r.status).toBe(200);
    expect(r.raw).not.toMatch(/\r\n0\r\n\r\n$/);
    expect(r.body).not.toContain("[DONE]");
  });
  it("a replica answers 500 and its sibling is down: the next allowed tier, else 503 JSON", async () => {
    live.engines.chat![0]!.setFault({ kind: "status", status: 500 });
    live.engines.chat![1]!.setFault({ kind: "close" });
    expectError(await post("/v1/chat/completions", CHAT, authHdr(KEYS.solo)), 503, "upstream_unavailable");
    const r = await post("/v1/chat/completions", CHAT, authHdr(KEYS.app));
    expect(r.status).toBe(200);
    expect(r.headers["x-fleet-model"]).toBe("coder");
  });
  it("external provider 429 on its own model: 503 JSON (or 429), no provider body", async () => {
    live.engines.cloud![0]!.setFault({ kind: "status", status: 429 });
    const r = await post("/v1/chat/completions", JSON.stringify(chat("cloud")), authHdr(KEYS.app));
    expect([429, 503]).toContain(r.status);
    expectError(r, r.status);
  });
  it("an engine 400 passes through as JSON", async () => {
    live.engines.chat!.forEach((e) => e.setFault({ kind: "status", status: 400 }));
    const r = await post("/v1/chat/completions", CHAT, authHdr(KEYS.solo));
    expect(r.status).toBe(400);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(r.body).error.message).toBe("fault injected: 400");
  });
  it("an engine's 404 (an HTML page, a model not pulled yet) is the fleet's failure: next tier, else 503 JSON", async () => {
    live.engines.chat!.forEach((e) => e.setFault({ kind: "raw", bytes: "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<html/>\r\n" }));
    expectError(await post("/v1/chat/completions", CHAT, authHdr(KEYS.solo)), 503, "upstream_unavailable");
    const r = await post("/v1/chat/completions", CHAT, authHdr(KEYS.app));
    expect(r.status).toBe(200);
    expect(r.headers["x-fleet-model"]).toBe("coder");
  });
});

describe("a restricted key reaching for another model", () => {
  it.each([["coder"], ["cloud"], ["sql"]])("solo asking for %s: 403", async (m) => {
    expectError(await post("/v1/chat/completions", JSON.stringify(chat(m)), authHdr(KEYS.solo)), 403);
    expect(nothingReceived()).toBe(true);
  });
  it("solo through the /text2sql route: 403", async () => {
    expectError(await post("/text2sql/v1/chat/completions", JSON.stringify(chat(undefined)), authHdr(KEYS.solo)), 403);
    expect(nothingReceived()).toBe(true);
  });
  it("solo through the bare /text2sql route: 403", async () => {
    expectError(await post("/text2sql", JSON.stringify(chat(undefined)), authHdr(KEYS.solo)), 403);
  });
  it("coder through the /text2sql route naming chat: refused", async () => {
    const r = await post("/text2sql/v1/chat/completions", JSON.stringify(chat("chat")), authHdr(KEYS.coder));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(nothingReceived()).toBe(true);
  });
  it("solo's /v1/models and /health name only chat", async () => {
    const m = await call(api("/v1/models"), { key: KEYS.solo });
    expect(m.json.data.map((d: { id: string }) => d.id).sort()).toEqual(["chat", "chat-latest"]);
    const h = await call(api("/health"), { key: KEYS.solo });
    expect(JSON.stringify(h.json)).not.toMatch(/coder|cloud|sql|provider/);
  });
  it("solo's /v1/models/coder: 404", async () => {
    const m = await call(api("/v1/models/coder"), { key: KEYS.solo });
    expect(m.status).toBe(404);
    expect(m.text).not.toMatch(/coder\b.*available.*coder/);
  });
  it("/health without a key says nothing about models", async () => {
    const h = await call(api("/health"));
    expect(h.status).toBe(401);
  });
  it("/v1/usage of another key: refused for a non-admin key", async () => {
    const r = await raw(`GET /v1/usage?key=app HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n${authHdr(KEYS.solo)}\r\n`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.headers["content-type"]).toBe("application/json");
  });
});

describe("a long conversation whose tools name a `model` property", () => {
  it("is routed (a valid request the engines accept), and reaches the engine byte for byte", async () => {
    const tools = [{ type: "function", function: { name: "pick", parameters: { type: "object", properties: { model: { type: "string" } } } } }];
    const messages = Array.from({ length: 12000 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: "hi" }));
    const body = JSON.stringify({ model: "chat-latest", tools, messages, max_tokens: 5 });
    const r = await post("/v1/chat/completions", body, authHdr(KEYS.app));
    expect(r.status, r.body.slice(0, 300)).toBe(200);
    const got = received("chat")[0]!;
    expect(got.json!.model).toBe("chat");
    expect(got.body).toBe(body.replace('"model":"chat-latest"', '"model":"chat"'));
  });
});

describe("a name found in several places is settled exactly", () => {
  const schema = '"tools":[{"type":"function","function":{"name":"pick","parameters":{"properties":{"model":{"type":"string"}}}}}]';
  it.each([
    ["nested first, then twice at the top", `{${schema},"model":"coder","model":"chat","messages":[]}`],
    ["at the top, nested, at the top with an escape", `{"model":"coder",${schema},"mod\\u0065l":"chat","messages":[]}`],
  ])("refuses a body naming model twice at the top level: %s", async (_w, body) => {
    expectError(await post("/v1/chat/completions", body, authHdr(KEYS.app)), 400, "duplicate_key");
    expect(nothingReceived()).toBe(true);
  });
  // Ten tools with a `model` property each, beside a long conversation: one more JSON.parse settles
  // which `model` is the top-level one, whatever the count (four were the most before a token walk).
  const manyTools = JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ type: "function", function: { name: `t${i}`, parameters: { type: "object", properties: { model: { type: "string" } } } } })));
  const longTalk = JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: "hi" })));
  it.each([
    ["model first", `{"model":"chat-latest","tools":${manyTools},"messages":${longTalk}}`],
    ["model last, spelled with an escape", `{"tools":${manyTools},"messages":${longTalk},"mod\\u0065l":"chat-latest"}`],
  ])("routes a body whose tools name `model` ten times, %s, and splices the top-level one alone", async (_w, body) => {
    const r = await post("/v1/chat/completions", body, authHdr(KEYS.app));
    expect(r.status, r.body.slice(0, 300)).toBe(200);
    expect(r.headers["x-fleet-model"]).toBe("chat");
    const got = received("chat")[0]!;
    expect(got.json!.model).toBe("chat");
    expect(got.json!.tools).toEqual(JSON.parse(manyTools));
    expect(got.body.length).toBe(body.length - (body.includes("mod\\u0065l") ? '"mod\\u0065l":"chat-latest"'.length - '"mod\\u0065l":"chat"'.length : "chat-latest".length - "chat".length));
  });
  it("refuses the same body with model twice at the top level among ten nested ones", async () => {
    const body = `{"model":"chat","tools":${manyTools},"messages":${longTalk},"model":"coder"}`;
    expectError(await post("/v1/chat/completions", body, authHdr(KEYS.app)), 400, "duplicate_key");
    expect(nothingReceived()).toBe(true);
  });
  it("a key whose name ends in an escaped \\\"model\\\" is not the model", async () => {
    const body = `{"x \\"model":"coder",${schema},"model":"chat-latest","messages":[]}`;
    const r = await post("/v1/chat/completions", body, authHdr(KEYS.app));
    expect(r.status, r.body).toBe(200);
    expect(r.headers["x-fleet-model"]).toBe("chat");
    expect(received("chat")[0]!.body).toBe(body.replace('"model":"chat-latest"', '"model":"chat"'));
  });
  // After 32 places where "model" is no member name (here strings in a list), the places are looked
  // for with the regex that requires the colon (body.js keyPositions): the member names after that
  // point must still all be found, the top-level one renamed and a second top-level one refused.
  const strings = `"enum":[${Array.from({ length: 40 }, () => '"model"').join(",")}]`;
  it("a list of 40 \"model\" strings before a schema naming model and the top-level model: only the top one renamed", async () => {
    const body = `{${strings},${schema},"model":"chat-latest","messages":[]}`;
    const r = await post("/v1/chat/completions", body, authHdr(KEYS.app));
    expect(r.status, r.body).toBe(200);
    expect(received("chat")[0]!.body).toBe(body.replace('"model":"chat-latest"', '"model":"chat"'));
  });
  it("the same with a second top-level model after the list: duplicate_key", async () => {
    const body = `{"model":"chat",${strings},${schema},"model":"coder","messages":[]}`;
    expectError(await post("/v1/chat/completions", body, authHdr(KEYS.app)), 400, "duplicate_key");
    expect(nothingReceived()).toBe(true);
  });
  it("max_tokens nested in a schema and at the top: the top one is checked", async () => {
    const body = `{"model":"chat","response_format":{"type":"json_schema","json_schema":{"schema":{"properties":{"max_tokens":{"type":"integer"}}}}},"max_tokens":100000,"messages":[]}`;
    expectError(await post("/v1/chat/completions", body, authHdr(KEYS.app)), 400, "max_tokens_too_large");
  });
});

describe("an upstream 5xx outside nginx's usual list is a failure too", () => {
  // 529: Anthropic's "overloaded_error"; 520-524: Cloudflare in front of a provider; 501/507: engines.
  it.each([529, 522, 501, 507])("%d: the next tier the key may use, else 503 JSON", async (status) => {
    live.engines.chat!.forEach((e) => e.setFault({ kind: "status", status }));
    expectError(await post("/v1/chat/completions", CHAT, authHdr(KEYS.solo)), 503, "upstream_unavailable");
    const r = await post("/v1/chat/completions", CHAT, authHdr(KEYS.app));
    expect(r.status).toBe(200);
    expect(r.headers["x-fleet-model"]).toBe("coder");
  });
});
