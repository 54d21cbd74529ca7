/**
 * SSE through the gateway: chunk by chunk (nothing buffered or coalesced), never compressed, with
 * the headers a proxy in front needs; and a config reload during a stream lets the stream finish.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { KEYS, testPlan, testSpec } from "./fleets";
import { call, chat, liveGateway } from "./harness";

const WORDS = ["one", " two", " three", " four", " five", " six"];
// Without the engine's X-Accel-Buffering hint (as vLLM): the gateway's own settings must stream.
const live = liveGateway({ engines: { reply: WORDS, accelBufferingHeader: false } });

interface Received {
  atMs: number;
  events: string[];
}

/** Reads an SSE response, noting when each network read arrived and which events it carried. */
async function readStream(res: Response): Promise<Received[]> {
  const reads: Received[] = [];
  const decoder = new TextDecoder();
  let pending = "";
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    const parts = pending.split("\n\n");
    pending = parts.pop()!;
    reads.push({ atMs: performance.now(), events: parts.map((p) => p.replace(/^data: /, "")) });
  }
  return reads;
}

const contentOf = (event: string) => (event === "[DONE]" ? null : (JSON.parse(event).choices[0]?.delta?.content as string | null | undefined) ?? null);

function streamRequest(model: string, headers: Record<string, string> = {}) {
  return fetch(`${live.gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${KEYS.app}`, "Content-Type": "application/json", ...headers },
    body: JSON.stringify(chat(model, { stream: true })),
  });
}

describe("streaming", () => {
  it("passes every chunk through as it comes, none held back or merged", async () => {
    for (const e of live.engines.chat!) e.setChunkDelay(120);
    const started = performance.now();
    const res = await streamRequest("chat");
    const reads = await readStream(res);
    const contentReads = reads.filter((r) => r.events.some((e) => contentOf(e)));
    // Each content chunk arrives in its own read: nothing coalesced.
    expect(contentReads.map((r) => r.events.map(contentOf).filter(Boolean))).toEqual(WORDS.map((w) => [w]));
    const gaps = contentReads.slice(1).map((r, i) => r.atMs - contentReads[i]!.atMs);
    for (const gap of gaps) expect(gap).toBeGreaterThan(80);
    // The first word arrived long before the stream ended.
    expect(contentReads[0]!.atMs - started).toBeLessThan(400);
    expect(reads.at(-1)!.atMs - contentReads[0]!.atMs).toBeGreaterThan(500);
  });

  it("is never compressed, and tells proxies in front not to buffer", async () => {
    const res = await streamRequest("coder", { "Accept-Encoding": "gzip, br" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    const events = (await readStream(res)).flatMap((r) => r.events);
    expect(events.at(-1)).toBe("[DONE]");
    // The upstream was not asked for compression either.
    expect(live.engines.coder![0]!.requests[0]!.headers["accept-encoding"]).toBeUndefined();
  });

  it("carries usage chunks (stream_options.include_usage) to the openai client", async () => {
    const c = new OpenAI({ apiKey: KEYS.app, baseURL: `${live.gw.url}/v1`, maxRetries: 0 });
    const stream = await c.chat.completions.create({ model: "chat", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(WORDS.join(""));
    expect(usage?.completion_tokens).toBe(WORDS.length);
  });
});

describe("reload during a stream", () => {
  it("lets the stream finish on the old workers while new requests get the new config", async () => {
    for (const e of live.engines.chat!) e.setChunkDelay(250);
    const res = await streamRequest("chat");
    const reader = readStream(res);
    await new Promise((r) => setTimeout(r, 300));
    // New config: one more client key.
    const lateKey = "sk-fleet-late-0123456789abcdef";
    const keys = { ...KEYS, late: lateKey };
    const plan = testPlan({
      keys: { ...testSpec().gateway!.keys, late: { models: ["coder"], rateClass: "std" } },
    });
    expect((await call(`${live.gw.url}/v1/models`, { key: lateKey })).status).toBe(401);
    live.gw.rewrite(plan, { clientKeys: keys });
    await live.gw.reload();
    // An idle keepalive connection to an old worker is closed by the reload: a GET may need a second try.
    const listModels = () => call(`${live.gw.url}/v1/models`, { key: lateKey });
    const after = await listModels().catch(listModels);
    expect(after.json.data.map((m: { id: string }) => m.id)).toEqual(["coder"]);
    const events = (await reader).flatMap((r) => r.events);
    expect(events.map(contentOf).filter(Boolean).join("")).toBe(WORDS.join(""));
    expect(events.at(-1)).toBe("[DONE]");
  });
});
