/**
 * What the client sent is what the engine gets, and no request stalls the others (issue 13
 * items 5-9): bytes kept exactly (big numbers, invalid UTF-8, key order, deep nesting) except the
 * members the gateway rewrites on purpose, a replica's 500 retried on its sibling, and a reply
 * that is not HTTP never reaching the client. Real nginx + njs on loopback; bounded in time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeEngines, KEYS, resetEngines, resolveTo, startEngines, testPlan, type EngineSet } from "./fleets";
import { call, chat, liveGateway, startGateway, type GatewayProcess } from "./harness";
import { rawRequest } from "./raw-http";

const live = liveGateway({ gateway: { passiveHealth: { maxFails: 0 } } });
const api = live.api;
const received = (id: string) => live.engines[id]!.flatMap((e) => e.requests);
const failAll = (...ids: string[]) => ids.forEach((id) => live.engines[id]!.forEach((e) => e.setFault({ kind: "status", status: 500 })));

/** POSTs raw bytes with the app key. */
async function postBytes(port: number, body: Buffer, headers = "", timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${KEYS.app}\r\nContent-Type: application/json\r\n${headers}Content-Length: ${body.length}\r\n\r\n`;
  const r = await rawRequest(port, Buffer.concat([Buffer.from(head), body]), timeoutMs);
  return { status: r.status, body: r.body };
}

// A body as a careless client writes it: odd spacing, a seed beyond 2^64, a byte that is not
// UTF-8 inside a string, key order of its own.
const bytes = (model: string, extra = "") =>
  Buffer.concat([
    Buffer.from(`{ "seed" : 12345678901234567891,\n  "messages":[{"role":"user","content":"caf`),
    Buffer.from([0xff, 0xe9]),
    Buffer.from(`"}], "temperature":0.70,${extra} "model" :"${model}" , "n":1 }`),
  ]);

describe("the client's bytes reach the engine (item 6)", () => {
  it("forwards them unchanged when the model needs no new name", async () => {
    const sent = bytes("chat");
    const r = await postBytes(live.gw.port, sent);
    expect(r.status).toBe(200);
    expect(received("chat")[0]!.rawBody.equals(sent)).toBe(true);
  });

  it("changes only the model's value for an alias", async () => {
    const r = await postBytes(live.gw.port, bytes("chat-latest"));
    expect(r.status).toBe(200);
    expect(received("chat")[0]!.rawBody.equals(bytes("chat"))).toBe(true);
  });

  // Invalid UTF-8 makes njs 0.7.9's requestText a byte string: the native matches body.js uses for
  // long whitespace runs and for strings with escaped quotes must work on it too. Nested 40 levels,
  // so the token walk reads every top-level member.
  it("changes only the model's value for an alias in a body with invalid UTF-8, escaped quotes, long runs of spaces and deep nesting", async () => {
    const deep = `${'{"a":'.repeat(40)}1${"}".repeat(40)}`;
    const spaces = " ".repeat(40);
    const body = (model: string) => Buffer.concat([
      Buffer.from('{"messages":[{"role":"user","content":"caf'),
      Buffer.from([0xff, 0xe9]),
      Buffer.from(` \\"q\\" \\\\\\"x\\""}],${spaces}"rf":${deep},"model"${spaces}:${spaces}"${model}"${spaces}}`),
    ]);
    const r = await postBytes(live.gw.port, body("chat-latest"));
    expect(r.status, r.body).toBe(200);
    expect(received("chat")[0]!.rawBody.equals(body("chat"))).toBe(true);
  });
  it("changes only the model and drops only the engine-only fields for an external provider", async () => {
    failAll("chat", "coder");
    const r = await postBytes(live.gw.port, bytes("chat", ` "top_k":20, "min_p" : 0.05,`));
    expect(r.status).toBe(200);
    expect(received("cloud")[0]!.rawBody.equals(bytes("provider/chat-large"))).toBe(true);
  });

  it("refuses a compressed body instead of forwarding its Content-Encoding over other bytes", async () => {
    const r = await postBytes(live.gw.port, Buffer.from(JSON.stringify(chat("chat"))), "Content-Encoding: gzip\r\n");
    expect(r.status).toBe(415);
    expect(JSON.parse(r.body).error.code).toBe("unsupported_content_encoding");
    expect(received("chat")).toHaveLength(0);
  });
});

describe("what the engines accept is accepted (item 7)", () => {
  const schema = (depth: number): unknown => (depth === 0 ? { type: "string" } : { type: "object", properties: { child: schema(depth - 1) } });
  it.each([["by id", "chat"], ["by alias (spliced)", "chat-latest"]])("takes a response_format schema nested 40 levels, %s", async (_what, model) => {
    const body = { model, messages: [{ role: "user", content: "hi" }], response_format: { type: "json_schema", json_schema: { name: "deep", schema: schema(40) } } };
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body });
    expect(r.status).toBe(200);
    expect(received("chat")[0]!.json).toEqual({ ...body, model: "chat" });
  });
});

describe("a replica's 500 (item 8)", () => {
  it("is retried on its healthy sibling, not sent to the next tier", async () => {
    const [a, b] = live.engines.chat!;
    a!.setFault({ kind: "status", status: 500 });
    for (let i = 0; i < 4; i++) {
      const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") });
      expect(r.status).toBe(200);
      expect(r.headers.get("x-fleet-tier")).toBe("0");
    }
    expect(b!.requests).toHaveLength(4);
    expect(received("coder")).toHaveLength(0);
  });
});

describe("a reply that is not HTTP (item 9)", () => {
  it("never reaches the client as if it were the answer", async () => {
    for (const e of live.engines.chat!) e.setFault({ kind: "raw", bytes: "SSH-2.0-OpenSSH_9.6\r\n" });
    const r = await rawRequest(live.gw.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${KEYS.app}\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{"model":"chat","messages":[1,2]}`, 3000);
    expect(r.raw).not.toContain("SSH-2.0");
    if (r.status !== 0) {
      expect(r.status).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(r.body).error).toBeDefined();
    }
    expect(live.gw.errorLog()).toContain("answered without an HTTP status line");
  });
});

describe("no request stalls the others (item 5)", () => {
  let engines: EngineSet;
  let gw: GatewayProcess;
  beforeAll(async () => {
    const plan = testPlan({ maxBodyMiB: 8 });
    engines = await startEngines(plan);
    // One worker: /healthz waits for whatever that worker is doing. With two, nginx may hand both
    // big requests to one worker (it reads their bodies between events) and /healthz to the other.
    gw = await startGateway(plan, { resolveEndpoint: resolveTo(engines), workerProcesses: 1 });
  });
  afterAll(async () => {
    await gw?.stop();
    await closeEngines(engines);
  });

  /**
   * Sends the bodies at once and, once the worker is reading them (`waitMs`), asks /healthz: their
   * answers, and how long /healthz took (at most 3 s on a loaded CI machine: re-encoding took about
   * 1.1 s per MiB of a worker).
   */
  async function healthzWhile(bodies: Buffer[], timeoutMs: number, waitMs = 300) {
    const pending = bodies.map((b) => postBytes(gw.port, b, "", timeoutMs));
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    const started = Date.now();
    const health = await call(`${gw.url}/healthz`);
    const healthMs = Date.now() - started;
    const results = await Promise.all(pending);
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(3000);
    return results;
  }

  /** Each body reached chat's engine with `from` (its model member) replaced by `to`, every other byte as sent. */
  function expectEachRenamed(bodies: Buffer[], from: string, to: string) {
    const got = engines.chat!.flatMap((e) => e.requests).map((q) => q.rawBody);
    for (const b of bodies) expect(got.some((g) => g.equals(Buffer.from(b.toString("latin1").replace(from, to), "latin1")))).toBe(true);
  }

  it("answers /healthz while its worker splices an alias into two 7 MiB bodies, and the bodies arrive intact", async () => {
    resetEngines(engines);
    // A long document and an embedding-sized array of numbers: what big requests carry.
    const big = (i: number) => Buffer.from(JSON.stringify({
      messages: [{ role: "user", content: `doc ${i} ` + "lorem ipsum dolor sit amet ".repeat(140_000) }],
      logit_bias: Object.fromEntries(Array.from({ length: 20_000 }, (_, k) => [String(k), -1])),
      extra_numbers: Array.from({ length: 300_000 }, (_, k) => k * 1.5),
      model: "chat-latest",
    }));
    const bodies = [big(0), big(1)];
    const results = await healthzWhile(bodies, 20_000, 0);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expectEachRenamed(bodies, '"model":"chat-latest"', '"model":"chat"');
  });

  // Conversations whose messages each carry members named like the ones the router reads (what a
  // client's own bookkeeping adds), spread over a 7 MiB body: the router settles which place is
  // the top-level one (body.js topLevelSpans). Built piece by piece with `+=`, the probed copy cost
  // places × body / 2 bytes of copying: 7.7 s of a worker (and /healthz waited as long) for 400 places.
  const spread = (places: number, names: string[], model: string, top = "") => {
    const filler = "y".repeat(Math.floor((7 * 1048576) / (places + 1)));
    const msgs = Array.from({ length: places }, (_, i) => `{"role":"user","content":"${filler}",${names.map((n) => `"${n}":"m${i}"`).join(",")}}`);
    return Buffer.from(`{"messages":[${msgs.join(",")}],"model":"${model}"${top}}`);
  };
  it("answers /healthz while its worker settles `model` in 400 places of two 7 MiB bodies, and only the top-level model is renamed", async () => {
    resetEngines(engines);
    const bodies = [spread(400, ["model"], "chat-latest"), spread(400, ["model"], "chat-latest", ',"n":1')];
    expect((await healthzWhile(bodies, 30_000)).map((r) => r.status)).toEqual([200, 200]);
    expectEachRenamed(bodies, '],"model":"chat-latest"', '],"model":"chat"');
  }, 40_000);
  it("settles seven names found in 999 places each with one more parse: the external tier gets its model and loses only the top-level engine-only fields", async () => {
    resetEngines(engines);
    const names = ["model", "max_tokens", "top_k", "min_p", "repetition_penalty", "repeat_penalty", "stream"];
    const b = spread(999, names, "cloud", ',"max_tokens":7,"top_k":20,"min_p":0.05,"repetition_penalty":1.1,"repeat_penalty":1.1,"stream":false');
    const r = await postBytes(gw.port, b, "", 30_000);
    expect(r.status, r.body.slice(0, 300)).toBe(200);
    const got = engines.cloud!.flatMap((e) => e.requests);
    expect(got).toHaveLength(1);
    const expected = b.toString("latin1").replace('],"model":"cloud","max_tokens":7,"top_k":20,"min_p":0.05,"repetition_penalty":1.1,"repeat_penalty":1.1,', '],"model":"provider/chat-large","max_tokens":7,');
    expect(got[0]!.rawBody.toString("latin1")).toBe(expected);
  }, 40_000);
  it("refuses max_tokens twice at the top level when it and model also appear in 999 nested places", async () => {
    resetEngines(engines);
    const b = spread(999, ["model", "max_tokens"], "chat", ',"max_tokens":7,"max_tokens":100000');
    const r = await postBytes(gw.port, b, "", 30_000);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe("duplicate_key");
    expect(Object.values(engines).flat().every((e) => e.requests.length === 0)).toBe(true);
  }, 40_000);
  // Strings with millions of escaped quotes: body.js skipString took a loop turn per escaped quote
  // (~1.4 µs), ~5 s of a worker for a `model` of 3.4 million; now one native match per string.
  it("answers /healthz while its worker reads two bodies whose `model` is 3.4 million escaped quotes: 404 JSON, nothing sent", async () => {
    resetEngines(engines);
    const b = Buffer.from(`{"model":"${'\\"'.repeat(3_400_000)}","messages":[]}`);
    const results = await healthzWhile([b, b], 30_000);
    for (const r of results) {
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body).error.code).toBe("model_not_found");
    }
    expect(Object.values(engines).flat().every((e) => e.requests.length === 0)).toBe(true);
  }, 40_000);
  // A schema nested 40 levels (njs's JSON.parse takes 32: the token walk reads the top level) beside
  // 7 MiB of source code, whose quotes are all escaped, in UTF-8: a valid request, routed exactly.
  it("routes a tools schema nested 40 levels beside 7 MiB of quoted source code, only the model renamed, while /healthz answers", async () => {
    resetEngines(engines);
    let deep = '{"type":"string"}';
    for (let i = 0; i < 40; i++) deep = `{"type":"object","properties":{"a":${deep}}}`;
    const code = JSON.stringify('print("héllo", x["key"], \'\\"\')\n'.repeat(180_000));
    const body = (n: number) => Buffer.from(`{"tools":[{"type":"function","function":{"name":"f${n}","parameters":${deep}}}],"messages":[{"role":"user","content":${code}}],"model":"chat-latest"}`);
    const bodies = [body(0), body(1)];
    expect((await healthzWhile(bodies, 30_000)).map((r) => r.status)).toEqual([200, 200]);
    expectEachRenamed(bodies, '"model":"chat-latest"}', '"model":"chat"}');
  }, 40_000);
  // 7 MiB of spaces where JSON allows them: skipWs walked them a character at a time (~1 s each
  // crossing), and splice, taking a dropped member's comma, tested a regex per character: 35 s of
  // the worker for the external tier's body.
  it("answers /healthz while its worker reads 7 MiB of spaces before a colon and before an engine-only member it drops", async () => {
    resetEngines(engines);
    const spaces = " ".repeat(7_000_000);
    const external = Buffer.from(`{"model":"cloud","messages":[],${spaces}"top_k":1}`);
    const own = Buffer.from(`{"model"${spaces}:"chat-latest","messages":[]}`);
    expect((await healthzWhile([external, own], 30_000)).map((r) => r.status)).toEqual([200, 200]);
    expect(engines.cloud!.flatMap((e) => e.requests).map((q) => q.rawBody.toString("latin1"))).toEqual(['{"model":"provider/chat-large","messages":[]}']);
    expect(engines.chat!.flatMap((e) => e.requests).map((q) => q.rawBody.toString("latin1"))).toEqual([`{"model"${spaces}:"chat","messages":[]}`]);
  }, 40_000);
  it("a 7 MiB model name is answered 404 with the name cut short, not sent back whole", async () => {
    const r = await postBytes(gw.port, Buffer.from(`{"model":"${"m".repeat(7 * 1048576)}","messages":[]}`), "", 30_000);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.code).toBe("model_not_found");
    expect(r.body.length).toBeLessThan(1000);
  }, 40_000);
});
