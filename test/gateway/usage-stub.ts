/**
 * A deterministic OpenAI-style upstream for the usage tests: fixed ids and timestamps, so two
 * streams can be compared byte for byte. As OpenAI documents stream_options.include_usage
 * (https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options): when
 * asked, every chunk carries "usage":null and one extra chunk with `choices: []` and the usage
 * comes before `data: [DONE]`. `sendUsage: false` plays an upstream that never reports usage.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export const STUB_USAGE = { prompt_tokens: 21, completion_tokens: 4, total_tokens: 25 } as const;
const WORDS = ["Bonjour", " à", " vous", " ✓"];

export interface UsageStub {
  port: number;
  /** Request bodies received, oldest first. */
  bodies: string[];
  sendUsage: boolean;
  /** Answers the next generation requests with this status, or after this delay. */
  fault: { status?: number; delayMs?: number } | null;
  close(): Promise<void>;
}

export async function startUsageStub(servedName: string): Promise<UsageStub> {
  const bodies: string[] = [];
  const stub: UsageStub = { port: 0, bodies, sendUsage: true, fault: null, close: async () => {} };
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", async () => {
      const text = Buffer.concat(parts).toString("utf8");
      bodies.push(text);
      if (stub.fault?.delayMs) await new Promise((r) => setTimeout(r, stub.fault!.delayMs));
      if (res.destroyed) return;
      if (stub.fault?.status) {
        res.writeHead(stub.fault.status, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { message: "fault", type: "server_error", code: stub.fault.status } }));
        return;
      }
      const json = JSON.parse(text) as { stream?: boolean; stream_options?: { include_usage?: boolean } };
      const base = { id: "chatcmpl-fixed", object: "chat.completion.chunk", created: 1700000000, model: servedName, system_fingerprint: "fp_1" };
      if (!json.stream) {
        const body = { ...base, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: WORDS.join("") }, finish_reason: "stop" }], ...(stub.sendUsage ? { usage: STUB_USAGE } : {}) };
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
        return;
      }
      const withUsage = json.stream_options?.include_usage === true && stub.sendUsage;
      const event = (choices: unknown[], usage?: unknown) => `data: ${JSON.stringify({ ...base, choices, ...(withUsage ? { usage: usage ?? null } : {}) })}\n\n`;
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write(event([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]));
      for (const w of WORDS) res.write(event([{ index: 0, delta: { content: w }, finish_reason: null }]));
      // The last content chunk and the usage chunk in one write: the gateway must split them.
      res.write(event([{ index: 0, delta: {}, finish_reason: "stop" }]) + (withUsage ? event([], STUB_USAGE) : ""));
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stub.port = (server.address() as AddressInfo).port;
  stub.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections?.();
  return stub;
}
