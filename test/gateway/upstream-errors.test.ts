/**
 * Every answer the gateway gives is OpenAI-style JSON, also when an upstream refuses a request
 * with an HTML (or other non-JSON) error page: it arrives as a JSON error with the same status.
 * A JSON error body passes as the engine sent it, byte for byte (vLLM's context-length 400 tells
 * the client what to shorten). Real nginx + njs on loopback; the test servers answer raw bytes.
 */
import { describe, expect, it } from "vitest";
import { KEYS } from "./fleets";
import { call, chat, liveGateway } from "./harness";
import { rawRequest } from "./raw-http";

const live = liveGateway();
const api = live.api;

/** An HTTP reply written byte for byte by the test server (as a provider or a proxy in front of it would). */
function rawReply(status: string, contentType: string | null, body: string): string {
  const type = contentType === null ? "" : `Content-Type: ${contentType}\r\n`;
  return `HTTP/1.1 ${status}\r\n${type}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
const HTML = "<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>cloudfront</center></body></html>\n";

describe("an upstream's non-JSON error body", () => {
  it.each([
    ["413", "413 Request Entity Too Large", "text/html", HTML],
    ["422", "422 Unprocessable Entity", "text/html; charset=utf-8", "<!doctype html><p>Unprocessable <b>entity</b></p>"],
    ["400 as plain text", "400 Bad Request", "text/plain", "Bad Request"],
    ["400 without a Content-Type", "400 Bad Request", null, "nope"],
  ])("%s arrives as a JSON error with the same status", async (_what, status, type, body) => {
    live.engines.cloud!.forEach((e) => e.setFault({ kind: "raw", bytes: rawReply(status, type, body) }));
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("cloud") });
    expect(r.status).toBe(Number(status.slice(0, 3)));
    // nginx keeps the upstream's charset parameter apart from the type: JSON in UTF-8 either way.
    expect(r.headers.get("content-type")).toMatch(/^application\/json(; charset=utf-8)?$/);
    expect(r.json).toEqual({ error: { message: expect.stringMatching(new RegExp(`answered ${status.slice(0, 3)} with a body that is not JSON`)), type: "invalid_request_error", code: "upstream_error" } });
    expect(r.text).not.toContain("<");
    expect(Number(r.headers.get("content-length"))).toBe(Buffer.byteLength(r.text));
    // Not a failure of the fleet: no other replica or tier was asked.
    expect(live.engines.chat!.flatMap((e) => e.requests)).toHaveLength(0);
  });

  // JSON error bodies pass byte for byte with their status: vLLM's context-length 400, a +json 422.
  it.each([
    ["400 Bad Request", "application/json", '{"object":"error","message":"This model\'s maximum context length is 32768 tokens. However, you requested 40000 tokens (39000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}'],
    ["422 Unprocessable Entity", "application/problem+json", '{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]}'],
  ])("a JSON %s (%s) passes byte for byte, with its status and type", async (statusLine, type, body) => {
    live.engines.cloud!.forEach((e) => e.setFault({ kind: "raw", bytes: rawReply(statusLine, type, body) }));
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("cloud") });
    expect(r.status).toBe(Number(statusLine.split(" ")[0]));
    expect(r.text).toBe(body);
    expect(r.headers.get("content-type")).toBe(type);
  });

  // The fleet's own engine is proxied from `location /` itself (in place), where nginx's own pages
  // for these statuses are listed too: an engine's answer must still pass as it was sent.
  it.each([
    ["400 Bad Request", '{"object":"error","message":"This model\'s maximum context length is 32768 tokens. However, you requested 40000 tokens.","type":"BadRequestError","param":null,"code":400}'],
    ["413 Request Entity Too Large", '{"object":"error","message":"prompt too long","type":"BadRequestError","param":null,"code":413}'],
    ["408 Request Timeout", '{"object":"error","message":"timed out reading the request","type":"BadRequestError","param":null,"code":408}'],
  ])("the fleet's own engine: a JSON %s passes byte for byte, and no other tier is asked", async (statusLine, body) => {
    live.engines.chat!.forEach((e) => e.setFault({ kind: "raw", bytes: rawReply(statusLine, "application/json", body) }));
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("chat") });
    expect(r.status).toBe(Number(statusLine.slice(0, 3)));
    expect(r.text).toBe(body);
    expect(r.headers.get("x-fleet-tier")).toBe("0");
    for (const other of ["coder", "cloud"]) expect(live.engines[other]!.flatMap((e) => e.requests)).toHaveLength(0);
  });

  it("a 400 labelled application/json whose body is not JSON (a proxy's HTML page) arrives as a JSON error", async () => {
    live.engines.cloud!.forEach((e) => e.setFault({ kind: "raw", bytes: rawReply("400 Bad Request", "application/json", HTML) }));
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("cloud") });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: { message: "the model's server answered 400 with a body that is not JSON (application/json)", type: "invalid_request_error", code: "upstream_error" } });
  });

  it("a JSON error longer than one buffer passes whole, and the client's connection serves its next request", async () => {
    const body = JSON.stringify({ error: { message: "x".repeat(300_000), type: "BadRequestError", code: 400 } });
    live.engines.cloud!.forEach((e) => e.setFault({ kind: "raw", bytes: rawReply("400 Bad Request", "application/json", body), times: 1 }));
    const request = JSON.stringify(chat("cloud"));
    const post = (connection: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nConnection: ${connection}\r\nAuthorization: Bearer ${KEYS.app}\r\nContent-Type: application/json\r\nContent-Length: ${request.length}\r\n\r\n${request}`;
    // Both requests on one keepalive connection: the second is read only if the first reply's framing was right.
    const reply = await rawRequest(live.gw.port, post("keep-alive") + post("close"), 5000, true);
    const replies = reply.raw.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(replies.map((x) => x.slice(9, 12))).toEqual(["400", "200"]);
    expect(replies[0]).toContain(body);
    expect(replies[1]).toContain('"content":"Hello from provider/chat-large"');
  });

  it("a streamed answer passes unchanged through the body filter", async () => {
    const r = await call(api("/v1/chat/completions"), { key: KEYS.app, body: chat("cloud", { stream: true }) });
    expect(r.status).toBe(200);
    expect(r.text).toContain("data: [DONE]");
  });
});
