/**
 * Rate limits per key (its rate class) and per client address, concurrency per key, 429 with
 * Retry-After, and the fail-safe: a failing key lookup must never turn into "no limit".
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeEngines, KEYS, RATE_CLASSES, resetEngines, resolveTo, startEngines, testPlan, type EngineSet } from "./fleets";
import { call, chat, startGateway, waitFor, type GatewayProcess } from "./harness";

let engines: EngineSet;
const gateways: GatewayProcess[] = [];
const start = async (...args: Parameters<typeof startGateway>) => {
  const g = await startGateway(...args);
  gateways.push(g);
  return g;
};
const post = (gw: GatewayProcess, key: string | null, model = "chat") => call(`${gw.url}/v1/chat/completions`, { key, body: chat(model) });

beforeAll(async () => {
  engines = await startEngines(testPlan());
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await closeEngines(engines);
});
beforeEach(() => resetEngines(engines));

describe("per key", () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await start(testPlan(), { resolveEndpoint: resolveTo(engines) });
  });

  it("lets a key of the tight class (60/min, burst 2) send 3 at once, then answers 429 with Retry-After", async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 5; i++) {
      const r = await post(gw, KEYS.tight);
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(limited!.json.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(limited!.headers.get("retry-after")).toBe("1");
    // The 429s never reached an engine.
    expect(engines.chat!.reduce((n, e) => n + e.requests.length, 0)).toBe(3);
  });

  it("counts each key apart: another key of another class is not limited meanwhile", async () => {
    for (let i = 0; i < 5; i++) expect((await post(gw, KEYS.app)).status).toBe(200);
  });

  it("limits requests in flight per key (solo class: concurrency 1) with 429", async () => {
    for (const e of engines.chat!) e.setFault({ kind: "delay", ms: 400 });
    const first = post(gw, KEYS.solo);
    await waitFor(() => engines.chat!.some((e) => e.inFlight > 0), 3000, "the first request to reach an engine");
    const second = await post(gw, KEYS.solo);
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect((await first).status).toBe(200);
    expect((await post(gw, KEYS.solo)).status).toBe(200);
  });

  it("does not count requests without a valid key against any key", async () => {
    for (let i = 0; i < 5; i++) expect((await post(gw, "sk-not-a-key-00000000000000")).status).toBe(401);
  });

  it("writes the 429 into the access log with the key's name", async () => {
    const lines = await waitFor(() => gw.accessLog().filter((l) => l.status === "429").length >= 3 && gw.accessLog().filter((l) => l.status === "429"));
    expect(lines.map((l) => l.key).sort()).toEqual(["solo", "tight", "tight"]);
    for (const key of Object.values(KEYS)) expect(JSON.stringify(gw.accessLog())).not.toContain(key);
  });
});

describe("per client address", () => {
  it("limits one address across keys (perIp 60/min, burst 3), with Retry-After", async () => {
    const gw = await start(testPlan({ perIp: { requestsPerMinute: 60, burst: 3 } }), { resolveEndpoint: resolveTo(engines) });
    const statuses: number[] = [];
    for (const key of [KEYS.app, KEYS.coder, KEYS.app, KEYS.coder, KEYS.app]) statuses.push((await post(gw, key, "coder")).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    // An address without any key is limited as well (a flood of bad keys).
    const r = await post(gw, null);
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("1");
  });
});

describe("fail-safe key lookup", () => {
  // Only request rates here: a failed lookup also counts in the solo class's concurrency of 1, and
  // limit_conn frees a slot only after the access log is written, after the client got its answer.
  const tightClassOnly = {
    perIp: { requestsPerMinute: 60000, burst: 5000 },
    rateClasses: { ...RATE_CLASSES, solo: { ...RATE_CLASSES.solo, concurrency: 64 } },
  };

  it("still limits when the lookup throws inside the router (it falls back to the client address)", async () => {
    // The key lookup breaks: reading the keys throws. clientId catches it and answers "err:<addr>",
    // which every rate class counts: the strictest class (tight, burst 2) applies.
    const gw = await start(testPlan(tightClassOnly), {
      resolveEndpoint: resolveTo(engines),
      patch: (files) => {
        const f = files["gateway/router.js"]!;
        const lookup = "if (has(fleet.clients, digest)) return";
        if (!f.contents.includes(lookup)) throw new Error("router.js no longer looks keys up as this test expects");
        f.contents = f.contents.replace(lookup, "if (has((function () { throw new Error('keys unavailable'); })(), digest)) return");
      },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(gw, KEYS.app)).status);
    expect(statuses).toEqual([500, 500, 500, 429, 429]);
    expect(gw.errorLog()).toContain("key lookup failed: keys unavailable");
  });

  it("still limits when the js_set function itself throws (nginx maps the empty value to the address)", async () => {
    const gw = await start(testPlan(tightClassOnly), {
      resolveEndpoint: resolveTo(engines),
      patch: (files) => {
        const f = files["gateway/router.js"]!;
        const patched = f.contents.replace("function clientId(r) {", "function clientId(r) {\n    throw new Error('clientId broken');");
        expect(patched).not.toBe(f.contents);
        f.contents = patched;
      },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(gw, KEYS.app)).status);
    expect(statuses).toEqual([500, 500, 500, 429, 429]);
  });
});
