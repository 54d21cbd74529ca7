/**
 * Usage metering, quotas and provider limits, live: real nginx + njs 0.7.9 with the rendered
 * usage.js, the rendered usage service as its own process, deterministic stub upstreams.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { call, chat, sleep, startGateway, waitFor, type GatewayProcess } from "./harness";
import { CAPPED_REQUESTS_PER_DAY, CODER_REQUESTS_PER_MINUTE, USAGE_KEYS, resetStubs, startUsageStubs, usagePlan, type UsageStubs } from "./usage-fleet";
import { liveMeteredGateway, meteredGatewayOptions, offsetToMidnight, startUsageService, usageDir, usageLog, type UsageServiceProcess } from "./usage-harness";
import { STUB_USAGE } from "./usage-stub";
import { USAGE_LAYOUT } from "../../infra/render/usage/gateway";

/**
 * A pooled keep-alive connection to a worker that a reload retired is closed under the client
 * (undici reports "other side closed" before sending anything): the client's cue to reconnect.
 */
async function reconnecting<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw err;
    return send();
  }
}

/** POST and read the whole reply as bytes (text). */
async function post(gw: GatewayProcess, key: string, body: unknown) {
  return reconnecting(() => postOnce(gw, key, body));
}

async function postOnce(gw: GatewayProcess, key: string, body: unknown) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function usageOf(gw: GatewayProcess, key: string, asked?: string) {
  return reconnecting(() => call(`${gw.url}/v1/usage${asked ? `?key=${encodeURIComponent(asked)}` : ""}`, { key }));
}

/** Waits until the service has counted `requests` for the key today. */
async function counted(gw: GatewayProcess, keyName: keyof typeof USAGE_KEYS, requests: number) {
  return waitFor(async () => {
    const u = await usageOf(gw, USAGE_KEYS.admin, keyName);
    return u.status === 200 && u.json.day.requests === requests ? u.json : undefined;
  }, 5000, `${requests} requests counted for ${keyName}`);
}

describe("metering", () => {
  let stubs: UsageStubs;
  let dir: string;
  let gw: GatewayProcess;
  let plainGw: GatewayProcess;
  let service: UsageServiceProcess;
  beforeAll(async () => {
    stubs = await startUsageStubs();
    dir = usageDir();
    gw = await startGateway(usagePlan(true), meteredGatewayOptions(stubs, dir));
    plainGw = await startGateway(usagePlan(false), meteredGatewayOptions(stubs, null));
    service = await startUsageService(gw.prefix);
  });
  afterAll(async () => {
    await service?.stop();
    await gw?.stop();
    await plainGw?.stop();
    await Promise.all(Object.values(stubs ?? {}).map((s) => s.close()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => resetStubs(stubs));

  it("counts a plain reply's tokens exactly as the upstream's usage reports them", async () => {
    const before = (await usageOf(gw, USAGE_KEYS.admin, "plain")).json.day;
    const r = await post(gw, USAGE_KEYS.plain, chat("chat"));
    expect(r.status).toBe(200);
    const after = await counted(gw, "plain", before.requests + 1);
    expect(after.day.prompt_tokens - before.prompt_tokens).toBe(STUB_USAGE.prompt_tokens);
    expect(after.day.completion_tokens - before.completion_tokens).toBe(STUB_USAGE.completion_tokens);
    expect(after.month.total_tokens).toBeGreaterThanOrEqual(STUB_USAGE.total_tokens);
  });

  it("asks the upstream for a stream's usage and gives the client the very bytes it gets without metering", async () => {
    const body = chat("chat", { stream: true });
    const before = (await usageOf(gw, USAGE_KEYS.admin, "plain")).json.day;
    const metered = await post(gw, USAGE_KEYS.plain, body);
    const unmetered = await post(plainGw, USAGE_KEYS.plain, body);
    expect(metered.status).toBe(200);
    expect(metered.text).toBe(unmetered.text);
    expect(metered.text).not.toContain('"usage"');
    expect(metered.text.endsWith("data: [DONE]\n\n")).toBe(true);
    // The metered gateway asked for usage; without metering the client's body went through untouched.
    const [askedFor, untouched] = stubs.chat.bodies;
    expect(JSON.parse(askedFor!).stream_options).toEqual({ include_usage: true });
    expect(untouched).toBe(JSON.stringify(body));
    const after = await counted(gw, "plain", before.requests + 1);
    expect(after.day.prompt_tokens - before.prompt_tokens).toBe(STUB_USAGE.prompt_tokens);
    expect(after.day.completion_tokens - before.completion_tokens).toBe(STUB_USAGE.completion_tokens);
  });

  it("passes a stream that asked for usage itself through unchanged, usage chunk included, and counts it", async () => {
    const body = chat("chat", { stream: true, stream_options: { include_usage: true } });
    const before = (await usageOf(gw, USAGE_KEYS.admin, "plain")).json.day;
    const metered = await post(gw, USAGE_KEYS.plain, body);
    const unmetered = await post(plainGw, USAGE_KEYS.plain, body);
    expect(metered.text).toBe(unmetered.text);
    expect(metered.text).toContain(`"usage":${JSON.stringify(STUB_USAGE)}`);
    expect(stubs.chat.bodies[0]).toBe(JSON.stringify(body));
    const after = await counted(gw, "plain", before.requests + 1);
    expect(after.day.completion_tokens - before.completion_tokens).toBe(STUB_USAGE.completion_tokens);
  });

  it("records a reply without usage as missing and counts no tokens for it", async () => {
    stubs.chat.sendUsage = false;
    const before = (await usageOf(gw, USAGE_KEYS.admin, "plain")).json.day;
    for (const stream of [false, true]) expect((await post(gw, USAGE_KEYS.plain, chat("chat", { stream }))).status).toBe(200);
    const after = await counted(gw, "plain", before.requests + 2);
    expect(after.day.requests_without_usage - before.requests_without_usage).toBe(2);
    expect(after.day.total_tokens).toBe(before.total_tokens);
    const lines = usageLog(dir).slice(-2);
    expect(lines.map((l) => [l.usage, l.pt, l.ct])).toEqual([["missing", "", ""], ["missing", "", ""]]);
  });

  it("GET /v1/usage: a key reads its own usage, an admin key any key's, another key no one else's", async () => {
    const own = await usageOf(gw, USAGE_KEYS.plain);
    expect(own.status).toBe(200);
    expect(own.json.key).toBe("plain");
    expect(own.json.day.remaining).toEqual({ requests: null, tokens: null });
    const capped = await usageOf(gw, USAGE_KEYS.capped);
    expect(capped.json.day.limits.requests).toBe(CAPPED_REQUESTS_PER_DAY);
    expect((await usageOf(gw, USAGE_KEYS.admin, "capped")).json.key).toBe("capped");
    expect((await usageOf(gw, USAGE_KEYS.admin, "*")).json.data.map((u: { key: string }) => u.key).sort()).toEqual(["admin", "capped", "plain"]);
    const refused = await usageOf(gw, USAGE_KEYS.plain, "capped");
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("not_admin");
    // A forged header cannot make a key an admin or someone else: nginx sets both from the key.
    const forged = await call(`${gw.url}/v1/usage?key=capped`, { key: USAGE_KEYS.plain, headers: { "X-Fleet-Admin": "1", "X-Fleet-Key": "admin" } });
    expect(forged.status).toBe(403);
    expect((await usageOf(gw, "sk-not-a-key-0123456789abcdef")).status).toBe(401);
    const off = await call(`${plainGw.url}/v1/usage`, { key: USAGE_KEYS.plain });
    expect(off.status).toBe(404);
    expect(off.json.error.code).toBe("unknown_endpoint");
  });

  it("keeps its counts across an nginx reload, a usage service restart, requests while it is down, and a new nginx", async () => {
    const before = (await usageOf(gw, USAGE_KEYS.admin, "plain")).json.day;
    await post(gw, USAGE_KEYS.plain, chat("chat"));
    await gw.reload();
    await post(gw, USAGE_KEYS.plain, chat("chat", { stream: true }));
    await counted(gw, "plain", before.requests + 2);
    await service.stop();
    // Served and logged while the service is down; counted when it is back.
    expect((await post(gw, USAGE_KEYS.plain, chat("chat"))).status).toBe(200);
    await gw.stop();
    gw = await startGateway(usagePlan(true), meteredGatewayOptions(stubs, dir));
    service = await startUsageService(gw.prefix);
    expect((await post(gw, USAGE_KEYS.plain, chat("chat"))).status).toBe(200);
    const after = await counted(gw, "plain", before.requests + 4);
    expect(after.day.total_tokens - before.total_tokens).toBe(4 * STUB_USAGE.total_tokens);
  });
});

describe("provider limits", () => {
  const live = liveMeteredGateway(() => usagePlan(true));

  it("fails over from a tier that does not answer within its timeoutSeconds", async () => {
    live.stubs.chat.fault = { status: 503 };
    live.stubs.coder.fault = { delayMs: 3000 };
    const started = Date.now();
    const r = await post(live.gw, USAGE_KEYS.plain, chat("chat"));
    expect(r.status).toBe(200);
    expect(r.headers.get("x-fleet-model")).toBe("cloud");
    expect(Date.now() - started).toBeLessThan(2500);
    expect(live.stubs.coder.bodies).toHaveLength(1);
  });

  it("skips a tier whose requests-per-minute limit is used up: nothing reaches it, the next tier serves", async () => {
    live.stubs.chat.fault = { status: 503 };
    const blockFile = path.join(live.dir, USAGE_LAYOUT.blockedDir, "tier-1");
    // Until the service has counted enough requests to block coder, it serves (the previous test used one).
    while (!fs.existsSync(blockFile)) {
      const r = await post(live.gw, USAGE_KEYS.plain, chat("chat"));
      expect(r.status).toBe(200);
      await sleep(300);
    }
    const reached = live.stubs.coder.bodies.length;
    expect(reached).toBeLessThanOrEqual(CODER_REQUESTS_PER_MINUTE);
    for (let i = 0; i < 3; i++) {
      const r = await post(live.gw, USAGE_KEYS.plain, chat("chat"));
      expect(r.status).toBe(200);
      expect(r.headers.get("x-fleet-model")).toBe("cloud");
    }
    expect(live.stubs.coder.bodies).toHaveLength(reached);
    const skipped = await waitFor(() => usageLog(live.dir).filter((l) => l.attempts?.includes("1!")), 3000, "skips in the usage log");
    expect(skipped[0]).toMatchObject({ attempts: " 0 1! 2", served: "cloud", ustatus: "503 : 200" });
  });
});

describe("provider limits on long requests", () => {
  // Requests that run at once: each lasts 4 s, a new one starts every 0.7 s (the service reads the
  // log every 0.2 s). Counted at their ends, none had ended when the 3rd started: all reached coder.
  const LONG_MS = 4000;
  const SPACING_MS = 700;
  const live = liveMeteredGateway(() => usagePlan(true, { coderTimeoutSeconds: 30 }));

  it("counts a request against a tier's limit when it starts: concurrent long requests do not all pass", async () => {
    live.stubs.chat.fault = { status: 503 };
    live.stubs.coder.fault = { delayMs: LONG_MS };
    const replies: Promise<{ status: number; headers: Headers }>[] = [];
    for (let i = 0; i < 5; i++) {
      replies.push(post(live.gw, USAGE_KEYS.plain, chat("chat")));
      await sleep(SPACING_MS);
    }
    const done = await Promise.all(replies);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(live.stubs.coder.bodies).toHaveLength(CODER_REQUESTS_PER_MINUTE);
    expect(done.map((r) => r.headers.get("x-fleet-model"))).toEqual([...Array(CODER_REQUESTS_PER_MINUTE).fill("coder"), ...Array(5 - CODER_REQUESTS_PER_MINUTE).fill("cloud")]);
    // One start line per request coder took, beside the requests' own lines.
    expect(usageLog(live.dir).filter((l) => l.start === "tier-1")).toHaveLength(CODER_REQUESTS_PER_MINUTE);
  });
});

describe("quotas", () => {
  // The service's clock is put a few seconds before the next UTC midnight (an injected clock).
  const SECONDS_TO_MIDNIGHT = 6;
  let midnightAt: number;
  const live = liveMeteredGateway(() => usagePlan(true), {
    service: () => {
      midnightAt = Date.now() + SECONDS_TO_MIDNIGHT * 1000;
      return { clockOffsetMs: offsetToMidnight(SECONDS_TO_MIDNIGHT) };
    },
  });

  it("answers 429 quota_exceeded with Retry-After until the UTC day ends, then serves again", async () => {
    for (let i = 0; i < CAPPED_REQUESTS_PER_DAY; i++) expect((await post(live.gw, USAGE_KEYS.capped, chat("chat"))).status).toBe(200);
    await counted(live.gw, "capped", CAPPED_REQUESTS_PER_DAY);
    // The service has published the block when it counts the last request; nginx sees the file
    // within a second (location /'s open file cache): requests in that second are still served.
    const countedAt = Date.now();
    let servedMeanwhile = 0;
    const refused = await waitFor(async () => {
      const r = await post(live.gw, USAGE_KEYS.capped, chat("chat"));
      if (r.status === 429) return r;
      expect(r.status).toBe(200);
      servedMeanwhile++;
      await sleep(100);
      return undefined;
    }, 3000, "the quota to be enforced");
    expect(Date.now() - countedAt).toBeLessThan(1500);
    const error = JSON.parse(refused.text).error;
    expect(error).toMatchObject({ code: "quota_exceeded", type: "rate_limit_error" });
    expect(error.message).toContain(`daily quota of ${CAPPED_REQUESTS_PER_DAY} requests`);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(SECONDS_TO_MIDNIGHT);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    // Other keys are not affected, and nothing of the refused request reached an upstream.
    expect((await post(live.gw, USAGE_KEYS.plain, chat("chat"))).status).toBe(200);
    expect(live.stubs.chat.bodies).toHaveLength(CAPPED_REQUESTS_PER_DAY + servedMeanwhile + 1);
    await sleep(Math.max(0, midnightAt - Date.now()) + 500);
    // The service lifted the block itself at its midnight (not only the router's stale-block check).
    expect(fs.existsSync(path.join(live.dir, USAGE_LAYOUT.blockedDir, "key-capped"))).toBe(false);
    expect((await post(live.gw, USAGE_KEYS.capped, chat("chat"))).status).toBe(200);
    const today = await counted(live.gw, "capped", 1);
    expect(today.day.remaining.requests).toBe(CAPPED_REQUESTS_PER_DAY - 1);
  });
});

describe("a usage log deleted by hand", () => {
  const live = liveMeteredGateway(() => usagePlan(true));

  it("costs about a second of lines, not ten: nginx looks the log's name up again after 1 s (open_log_file_cache valid=1s)", async () => {
    expect((await post(live.gw, USAGE_KEYS.plain, chat("chat"))).status).toBe(200);
    await counted(live.gw, "plain", 1);
    for (const f of fs.readdirSync(live.dir).filter((f) => /^usage-.*\.log$/.test(f))) fs.rmSync(path.join(live.dir, f));
    // Until `valid` runs out a worker writes into the deleted file; its next lookup of the name
    // finds no file and drops that one line (measured on nginx 1.22; ngx_open_file_cache.c
    // retests a cached file by stat), then the next write creates the file.
    await sleep(2500);
    const after = Date.now() / 1000;
    for (let i = 0; i < 5; i++) expect((await post(live.gw, USAGE_KEYS.plain, chat("chat"))).status).toBe(200);
    await sleep(500);
    // At most one line dropped per worker (the test nginx runs two).
    expect(usageLog(live.dir).filter((l) => Number(l.t) >= after).length).toBeGreaterThanOrEqual(3);
  }, 20_000);
});
