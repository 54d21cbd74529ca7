/**
 * How the gateway reads an upstream's `usage` (usage.js) from replies written the ways real servers
 * write them, sent in pieces the way networks cut them: real nginx + njs 0.7.9, one scripted
 * upstream on loopback that writes each reply in the given parts with a pause between them (so
 * nginx hands the filter one part at a time), and the usage log nginx writes.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, waitFor, type GatewayProcess } from "./harness";
import { USAGE_KEYS, usagePlan } from "./usage-fleet";
import { usageDir, usageLog } from "./usage-harness";

/** Each request is answered with the next script: its parts written one by one, PAUSE_MS apart. */
interface Script { type: string; parts: string[] }
const PAUSE_MS = 40;
const scripts: Script[] = [];
const bodies: string[] = [];

let upstream: http.Server;
let dir: string;
let gw: GatewayProcess;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", async () => {
      bodies.push(Buffer.concat(parts).toString("utf8"));
      const script = scripts.shift();
      if (!script) {
        res.writeHead(500, { "Content-Type": "application/json" }).end('{"error":{"message":"no script"}}');
        return;
      }
      res.writeHead(200, { "Content-Type": script.type });
      for (const p of script.parts) {
        res.write(p);
        await new Promise((r) => setTimeout(r, PAUSE_MS));
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const port = (upstream.address() as AddressInfo).port;
  dir = usageDir();
  gw = await startGateway(usagePlan(true), {
    clientKeys: { ...USAGE_KEYS },
    resolveEndpoint: () => ({ host: "127.0.0.1", port, tls: false }),
    usage: { dir },
  });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends one chat request as the plain key (chat's own tier), returns the client's bytes and its usage-log line. */
async function through(script: Script, extra: Record<string, unknown> = {}) {
  const before = usageLog(dir).filter((l) => l.key === "plain").length;
  scripts.push(script);
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${USAGE_KEYS.plain}`, "Content-Type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], ...extra }),
  });
  // Read as it arrives: `reads` counts the network reads (a held stream arrives in one).
  const decoder = new TextDecoder();
  let text = "";
  let reads = 0;
  for await (const chunk of res.body!) {
    reads++;
    text += decoder.decode(chunk, { stream: true });
  }
  expect(res.status, text).toBe(200);
  const line = await waitFor(() => usageLog(dir).filter((l) => l.key === "plain")[before], 5000, "the request's usage-log line");
  return { text, line, reads };
}

const reply = (usage: string) => `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":${usage}}`;

describe("a plain reply's usage", () => {
  it("pretty-printed, as OpenAI's API sends it (`\"usage\": {` with spaces and line breaks)", async () => {
    const body = JSON.stringify(JSON.parse(reply('{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}')), null, 2);
    const { text, line } = await through({ type: "application/json", parts: [body] });
    expect(text).toBe(body);
    expect([line.pt, line.ct, line.usage]).toEqual(["19", "10", "ok"]);
  });

  it("with its members sorted and spaced, as a proxy re-encoding it writes it (details before prompt_tokens)", async () => {
    const body = reply('{"completion_tokens": 20, "completion_tokens_details": {"reasoning_tokens": 0}, "prompt_tokens": 18, "prompt_tokens_details": {"cached_tokens": 0}, "total_tokens": 38}').replace('"usage":', '"usage": ');
    const { line } = await through({ type: "application/json", parts: [body] });
    expect([line.pt, line.ct, line.usage]).toEqual(["18", "20", "ok"]);
  });

  it("cut after prompt_tokens_details, before completion_tokens: read once the usage object is whole, not as 0 completion tokens", async () => {
    const body = reply('{"prompt_tokens":21,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens":4,"total_tokens":25}');
    const cut = body.indexOf('"completion_tokens"') + 6;
    const { text, line } = await through({ type: "application/json", parts: [body.slice(0, cut), body.slice(cut)] });
    expect(text).toBe(body);
    expect([line.pt, line.ct, line.usage]).toEqual(["21", "4", "ok"]);
  });

  it("cut inside a count: the whole number, not its first digits", async () => {
    const body = reply('{"prompt_tokens":21,"completion_tokens":123,"total_tokens":144}');
    const cut = body.indexOf("123") + 1;
    const { line } = await through({ type: "application/json", parts: [body.slice(0, cut), body.slice(cut)] });
    expect([line.pt, line.ct]).toEqual(["21", "123"]);
  });

  it("cut inside the word usage and split three ways", async () => {
    const body = reply('{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}');
    const a = body.indexOf('"usage"') + 3;
    const b = body.indexOf("prompt_tokens") + 4;
    const { line } = await through({ type: "application/json", parts: [body.slice(0, a), body.slice(a, b), body.slice(b)] });
    expect([line.pt, line.ct]).toEqual(["5", "6"]);
  });

  it("no usage at all: recorded as missing, no tokens", async () => {
    const body = reply("null").replace(',"usage":null', "");
    const { line } = await through({ type: "application/json", parts: [body] });
    expect([line.pt, line.ct, line.usage]).toEqual(["", "", "missing"]);
  });
});

describe("streams", () => {
  // Python's json.dumps spacing (", " and ": "), as servers built on it write their events.
  const event = (choices: unknown[], usage: unknown) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices })
    .replace(/,"/g, ', "').replace(/":/g, '": ').slice(0, -1)}, "usage": ${JSON.stringify(usage).replace(/,"/g, ', "').replace(/":/g, '": ')}}\n\n`;
  const plain = (choices: unknown[]) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices }).replace(/,"/g, ', "').replace(/":/g, '": ')}\n\n`;

  it("with spaces in its events: the usage event is counted and taken out, and \"usage\": null leaves the others", async () => {
    const delta = [{ index: 0, delta: { content: "Hi" }, finish_reason: null }];
    const parts = [event(delta, null), event([], { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 }), "data: [DONE]\n\n"];
    const { text, line } = await through({ type: "text/event-stream", parts }, { stream: true });
    expect(JSON.parse(bodies.at(-1)!).stream_options).toEqual({ include_usage: true });
    expect(text).toBe(plain(delta) + "data: [DONE]\n\n");
    expect([line.pt, line.ct, line.usage]).toEqual(["7", "1", "ok"]);
  });

  it("with CRLF line ends (SSE allows them; sse-starlette writes them): each event reaches the client as it comes, the usage event is taken out", async () => {
    const crlf = (choices: unknown[], usage: unknown) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices, usage })}\r\n\r\n`;
    const delta = (w: string) => [{ index: 0, delta: { content: w }, finish_reason: null }];
    const parts = [crlf(delta("Hi"), null), crlf(delta(" there"), null), crlf([], { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }), "data: [DONE]\r\n\r\n"];
    const { text, line, reads } = await through({ type: "text/event-stream", parts }, { stream: true });
    // Its parts are written 40 ms apart: passed on as they come, they arrive in more than one read.
    expect(reads).toBeGreaterThan(1);
    const plainEvent = (w: string) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: delta(w) })}\r\n\r\n`;
    expect(text).toBe(plainEvent("Hi") + plainEvent(" there") + "data: [DONE]\r\n\r\n");
    expect([line.pt, line.ct, line.usage]).toEqual(["3", "2", "ok"]);
  });

  it("a stream that asked for usage in every event itself (vLLM's continuous_usage_stats): its last usage counts, not its first", async () => {
    const compact = (choices: unknown[], usage: unknown) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices, usage })}\n\n`;
    const words = ["One", " two", " three"];
    const parts = [
      ...words.map((w, i) => compact([{ index: 0, delta: { content: w }, finish_reason: null }], { prompt_tokens: 9, completion_tokens: i + 1, total_tokens: 10 + i })),
      compact([], { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 }),
      "data: [DONE]\n\n",
    ];
    const { text, line } = await through({ type: "text/event-stream", parts }, { stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } });
    expect(text).toBe(parts.join(""));
    expect([line.pt, line.ct, line.usage]).toEqual(["9", "3", "ok"]);
  });
});

describe("a stream whose client asked for continuous_usage_stats without include_usage", () => {
  // vLLM sends usage in every event only when include_usage is true too (should_include_usage,
  // vllm/entrypoints/openai/utils.py): such a client gets no usage at all. Asking for usage on its
  // behalf must not turn the continuous stats on.
  it("asks the upstream for usage with continuous_usage_stats off, and the client's stream carries none", async () => {
    const compact = (choices: unknown[], usage: unknown) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices, usage })}\n\n`;
    const parts = [compact([{ index: 0, delta: { content: "Hi" }, finish_reason: null }], null), compact([], { prompt_tokens: 4, completion_tokens: 1, total_tokens: 5 }), "data: [DONE]\n\n"];
    const before = bodies.length;
    const { text, line } = await through({ type: "text/event-stream", parts }, { stream: true, stream_options: { continuous_usage_stats: true } });
    expect(JSON.parse(bodies[before]!).stream_options).toEqual({ continuous_usage_stats: false, include_usage: true });
    expect(text).toBe(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] })}\n\n` + "data: [DONE]\n\n");
    expect([line.pt, line.ct, line.usage]).toEqual(["4", "1", "ok"]);
  });
});

describe("a stream whose tools name stream, stream_options and model too", () => {
  // body.js settles the top-level places of every name found more than once with one parse of the
  // body with all of them renamed (topLevelSpans): the usage edit must land in the top-level
  // stream_options, not in a tool's schema property of that name.
  it("asks for usage in the top-level stream_options only; every tool reaches the upstream as sent", async () => {
    const property = { type: "object", properties: { include_usage: { type: "boolean" } } };
    const tools = Array.from({ length: 30 }, (_, i) => ({
      type: "function",
      function: { name: `t${i}`, parameters: { type: "object", properties: { stream: { type: "boolean" }, stream_options: property, model: { type: "string" } } } },
    }));
    const parts = [`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })}\n\n`, "data: [DONE]\n\n"];
    const before = bodies.length;
    const { text, line } = await through({ type: "text/event-stream", parts }, { tools, stream: true, stream_options: { continuous_usage_stats: true } });
    const sent = JSON.parse(bodies[before]!);
    expect(sent.stream_options).toEqual({ continuous_usage_stats: false, include_usage: true });
    expect(sent.tools).toEqual(tools);
    expect(sent.model).toBe("chat");
    expect(text).toBe("data: [DONE]\n\n");
    expect([line.pt, line.ct, line.usage]).toEqual(["5", "1", "ok"]);
  });
});

describe("a stream flag that is not a boolean", () => {
  // vLLM reads requests with pydantic in lax mode: "stream": "true" (or 1, "yes") streams there. The
  // gateway asks only a `stream: true` for its usage, so such a stream would be served uncounted.
  it.each([['"true"'], ["1"], ['"yes"']])("stream: %s is refused with 400 before any upstream is asked", async (value) => {
    const before = bodies.length;
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${USAGE_KEYS.plain}`, "Content-Type": "application/json" },
      body: `{"model":"chat","messages":[{"role":"user","content":"hi"}],"stream":${value}}`,
    });
    const json = (await res.json()) as { error: { code: string } };
    expect(res.status).toBe(400);
    expect(json.error.code).toBe("invalid_stream");
    expect(bodies.length).toBe(before);
  });
});
