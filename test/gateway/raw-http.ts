/**
 * Raw HTTP/1.1 over a socket, for requests no HTTP client library would send (a malformed request
 * line, HTTP/9.9, a stalled body). Bounded: every exchange ends within `timeoutMs`.
 */
import * as net from "node:net";

export interface RawReply {
  /** The status of the first line, or 0 when the reply had no HTTP status line (or none came). */
  status: number;
  headers: Record<string, string>;
  /** The body (a chunked one decoded, as far as its chunks arrived whole). */
  body: string;
  /** Everything received, as latin1 text. */
  raw: string;
  /** Milliseconds from connecting to the first byte of the reply, or null when none came. */
  firstByteMs: number | null;
}

/** Sends `request` (bytes as given) and reads until the server closes, `Content-Length` is met or the time is up. */
export function rawRequest(port: number, request: string | Buffer, timeoutMs = 3000, keepOpen = false): Promise<RawReply> {
  return new Promise((resolve) => {
    const started = Date.now();
    let firstByteMs: number | null = null;
    let data = Buffer.alloc(0);
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(data, firstByteMs));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      firstByteMs ??= Date.now() - started;
      data = Buffer.concat([data, chunk]);
      const reply = parse(data, firstByteMs);
      const length = Number(reply.headers["content-length"] ?? NaN);
      if (!keepOpen && reply.status > 0 && Buffer.byteLength(reply.body, "latin1") >= length) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
  });
}

function parse(data: Buffer, firstByteMs: number | null): RawReply {
  const raw = data.toString("latin1");
  const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(raw);
  const end = raw.indexOf("\r\n\r\n");
  if (!m || end < 0) return { status: 0, headers: {}, body: raw, raw, firstByteMs };
  const headers: Record<string, string> = {};
  for (const line of raw.slice(m[0].length, end).split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = raw.slice(end + 4);
  return { status: Number(m[1]), headers, body: /chunked/i.test(headers["transfer-encoding"] ?? "") ? unchunk(body) : body, raw, firstByteMs };
}

/** The data of the whole chunks of a chunked body (RFC 9112 section 7.1), in order. */
function unchunk(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const line = text.indexOf("\r\n", at);
    if (line < 0) return out;
    const size = parseInt(text.slice(at, line), 16);
    if (!(size > 0) || line + 2 + size > text.length) return out;
    out += text.slice(line + 2, line + 2 + size);
    at = line + 2 + size + 2;
  }
}
