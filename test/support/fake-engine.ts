/**
 * A small OpenAI-compatible test server that behaves like a real llama-server as observed in
 * reference/llama-server-observed.md: /health is 503 while "loading" then 200,
 * /v1/models needs no key, chat/completions check a Bearer key (401 with the engine's body) and
 * answer ANY model name with their own served name (so tests prove the gateway refuses unknown
 * models, because the engine never will). Faults are switched on per test; every request is
 * recorded (headers and body) so tests can assert what the gateway forwarded.
 */
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface FakeEngineOptions {
  /** The name it answers with in `model`, like llama-server's --alias. */
  servedName: string;
  /** When set, chat/completions/embeddings need `Authorization: Bearer <apiKey>` (LLAMA_API_KEY). */
  apiKey?: string;
  /** /health answers 503 "Loading model" for this long after start. @default 0 */
  loadingMs?: number;
  /** Words of the reply; a stream sends one per chunk. @default ["Hello", " from", " <servedName>"] */
  reply?: string[];
  /** Pause before each streamed content chunk. @default 0 */
  chunkDelayMs?: number;
  /**
   * Send `X-Accel-Buffering: no` with streams, as llama-server does. vLLM does not: set false to
   * prove that a proxy streams without the engine's hint. @default true
   */
  accelBufferingHeader?: boolean;
  /** @default 0 (an ephemeral port on 127.0.0.1) */
  port?: number;
}

/** A fault applies to the next `times` generation requests (all of them when unset). */
export type FakeFault =
  | { kind: "status"; status: number; times?: number }
  | { kind: "close"; times?: number }
  | { kind: "delay"; ms: number; times?: number }
  | { kind: "close-mid-stream"; afterChunks: number; times?: number }
  /** Writes these bytes instead of an HTTP reply (a port taken by another service), then closes. */
  | { kind: "raw"; bytes: string; times?: number };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body's bytes exactly as received. */
  rawBody: Buffer;
  /** The parsed body, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
  receivedAtMs: number;
}

export interface FakeEngine {
  readonly url: string;
  readonly port: number;
  readonly servedName: string;
  /** Generation requests received (chat, completions, embeddings), oldest first. */
  readonly requests: RecordedRequest[];
  /** Generation requests being answered right now. */
  readonly inFlight: number;
  setFault(fault: FakeFault | null): void;
  setLoading(loading: boolean): void;
  setChunkDelay(ms: number): void;
  /** Extra headers on every generation reply (what a provider adds: Set-Cookie, openai-organization...). */
  setResponseHeaders(headers: Record<string, string>): void;
  /** Dies like a crashed process: open connections are reset, new ones refused. */
  kill(): Promise<void>;
  /** Starts again on the same port after kill(). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const GENERATION_PATHS = new Set(["/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions", "/v1/embeddings", "/embeddings"]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Engines answer CORS for any origin by default (vLLM's --allowed-origins is ["*"]); a gateway must not pass that on. */
const ENGINE_CORS = { "Access-Control-Allow-Origin": "*" };

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), ...ENGINE_CORS, ...headers });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function startFakeEngine(options: FakeEngineOptions): Promise<FakeEngine> {
  const servedName = options.servedName;
  const reply = options.reply ?? ["Hello", " from", ` ${servedName}`];
  let chunkDelayMs = options.chunkDelayMs ?? 0;
  let loadedAt = Date.now() + (options.loadingMs ?? 0);
  let fault: FakeFault | null = null;
  let faultUses = 0;
  let inFlight = 0;
  let extraHeaders: Record<string, string> = {};
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let created = Math.floor(Date.now() / 1000);

  /** The fault for this request, counting down `times`. */
  function takeFault(): FakeFault | null {
    if (!fault) return null;
    const f = fault;
    faultUses += 1;
    if (f.times !== undefined && faultUses >= f.times) {
      fault = null;
      faultUses = 0;
    }
    return f;
  }

  function completionBody(json: Record<string, unknown>, path: string, words: string[], finish: string) {
    const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
    const usage = { completion_tokens: words.length, prompt_tokens: 14, total_tokens: 14 + words.length };
    if (path.endsWith("/embeddings")) {
      return { object: "list", model: servedName, data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2, 0.3] }], usage: { prompt_tokens: 3, total_tokens: 3 } };
    }
    if (path.endsWith("/chat/completions")) {
      return {
        choices: [{ finish_reason: finish, index: 0, message: { role: "assistant", content: words.join("") } }],
        created, model: servedName, system_fingerprint: "b0-unknown", object: "chat.completion", usage, id,
      };
    }
    return { choices: [{ text: words.join(""), index: 0, finish_reason: finish }], created, model: servedName, object: "text_completion", usage, id, prompt: json.prompt };
  }

  async function stream(req: http.IncomingMessage, res: http.ServerResponse, json: Record<string, unknown>, words: string[], finish: string, f: FakeFault | null) {
    const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
    const chunk = (choices: unknown[], extra: object = {}) =>
      `data: ${JSON.stringify({ choices, created, id, model: servedName, system_fingerprint: "b0-unknown", object: "chat.completion.chunk", ...extra })}\n\n`;
    // Headers as llama-server sends them for a stream.
    const hint = options.accelBufferingHeader === false ? {} : { "X-Accel-Buffering": "no" };
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", ...hint, ...ENGINE_CORS });
    res.write(chunk([{ finish_reason: null, index: 0, delta: { role: "assistant", content: null } }]));
    for (let i = 0; i < words.length; i++) {
      if (chunkDelayMs > 0) await sleep(chunkDelayMs);
      if (f?.kind === "close-mid-stream" && i >= f.afterChunks) {
        req.socket.destroy();
        return;
      }
      if (res.destroyed) return;
      res.write(chunk([{ finish_reason: null, index: 0, delta: { content: words[i] } }]));
    }
    res.write(chunk([{ finish_reason: finish, index: 0, delta: {} }]));
    const streamOptions = json.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) {
      res.write(chunk([], { usage: { completion_tokens: words.length, prompt_tokens: 14, total_tokens: 14 + words.length } }));
    }
    res.end("data: [DONE]\n\n");
  }

  async function generate(req: http.IncomingMessage, res: http.ServerResponse, path: string, rawBody: Buffer) {
    const body = rawBody.toString("utf8");
    const json = parseJson(body);
    requests.push({ method: req.method ?? "", path, headers: req.headers, body, rawBody, json, receivedAtMs: Date.now() });
    for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendJson(res, 401, { error: { message: "Invalid API Key", type: "authentication_error", code: 401 } }, { Connection: "close" });
      return;
    }
    const f = takeFault();
    if (f?.kind === "raw") {
      req.socket.end(f.bytes);
      return;
    }
    if (f?.kind === "close") {
      req.socket.destroy();
      return;
    }
    if (f?.kind === "status") {
      sendJson(res, f.status, { error: { message: `fault injected: ${f.status}`, type: "server_error", code: f.status } });
      return;
    }
    if (f?.kind === "delay") await sleep(f.ms);
    if (res.destroyed) return;
    if (!json) {
      // The real engine answers malformed JSON with a 500 (llama-server-observed.md §8).
      sendJson(res, 500, { error: { code: 500, message: "[json.exception.parse_error.101] parse error", type: "server_error" } });
      return;
    }
    const maxTokens = typeof json.max_tokens === "number" ? json.max_tokens : reply.length;
    const words = reply.slice(0, Math.max(0, maxTokens));
    const finish = words.length < reply.length ? "length" : "stop";
    if (json.stream === true && !path.endsWith("/embeddings")) await stream(req, res, json, words, finish, f);
    else sendJson(res, 200, completionBody(json, path, words, finish));
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    void readBody(req).then(async (body) => {
      if (path === "/health") {
        if (Date.now() < loadedAt) sendJson(res, 503, { error: { message: "Loading model", type: "unavailable_error", code: 503 } });
        else sendJson(res, 200, { status: "ok" });
        return;
      }
      if (path === "/v1/models" || path === "/models") {
        sendJson(res, 200, { object: "list", data: [{ id: servedName, aliases: [servedName], object: "model", created, owned_by: "llamacpp" }] });
        return;
      }
      if (GENERATION_PATHS.has(path) && req.method === "POST") {
        inFlight += 1;
        try {
          await generate(req, res, path, body);
        } finally {
          inFlight -= 1;
        }
        return;
      }
      sendJson(res, 404, { error: { code: 404, message: "File Not Found", type: "not_found_error" } });
    }, () => req.socket.destroy());
  });
  server.keepAliveTimeout = 65_000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });

  const port = await listen(options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    servedName,
    requests,
    get inFlight() {
      return inFlight;
    },
    setFault(f) {
      fault = f;
      faultUses = 0;
    },
    setLoading(loading) {
      loadedAt = loading ? Number.POSITIVE_INFINITY : 0;
    },
    setChunkDelay(ms) {
      chunkDelayMs = ms;
    },
    setResponseHeaders(headers) {
      extraHeaders = { ...headers };
    },
    kill: stop,
    async restart() {
      created = Math.floor(Date.now() / 1000);
      await listen(port);
    },
    close: stop,
  };
}
