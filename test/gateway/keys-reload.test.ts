/**
 * Keys added and removed by `nginx -s reload` take effect at once. `location /` caches what its
 * try_files tested (open_file_cache, nginx.conf): "/./" for a known key, a path that never exists
 * for an unknown one, cached as missing for an hour. The cache belongs to a configuration, and the
 * two paths do not depend on the key: a key unknown before a reload (its requests cached the
 * missing path) works right after it, and a removed key is refused right after it. "After it": once
 * the old workers have exited (under load one could still serve a keep-alive connection with the
 * old keys for a moment: seen once in a full CI run).
 * Real nginx + njs on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeEngines, KEYS, resolveTo, startEngines, testPlan, type EngineSet } from "./fleets";
import { call, chat, startGateway, type GatewayProcess } from "./harness";

const NEW_KEY = "sk-fleet-newbie-0123456789abcdef";
let engines: EngineSet;
let gw: GatewayProcess;

beforeAll(async () => {
  engines = await startEngines(testPlan());
  gw = await startGateway(testPlan(), { resolveEndpoint: resolveTo(engines) });
});
afterAll(async () => {
  await gw?.stop();
  await closeEngines(engines);
});

/** A chat request's status; a keep-alive connection to a worker a reload retired may be closed under it: one retry. */
const status = async (key: string) => {
  const send = () => call(`${gw.url}/v1/chat/completions`, { key, body: chat("chat") });
  return (await send().catch(send)).status;
};

describe("keys across nginx -s reload (open_file_cache in location /)", () => {
  it("a key added by a reload works at once, one removed is refused at once", async () => {
    // Unknown now, several times over: both workers have tested (and cached) the no-key path.
    for (let i = 0; i < 4; i++) expect(await status(NEW_KEY)).toBe(401);
    expect(await status(KEYS.solo)).toBe(200);

    const keys = { app: { models: ["*"], rateClass: "std" }, newbie: { models: ["chat"], rateClass: "std" } };
    gw.rewrite(testPlan({ keys }), { clientKeys: { app: KEYS.app, newbie: NEW_KEY } });
    await gw.reload({ settled: true });
    for (let i = 0; i < 4; i++) expect(await status(NEW_KEY)).toBe(200);
    for (let i = 0; i < 4; i++) expect(await status(KEYS.solo)).toBe(401);
    expect(await status(KEYS.app)).toBe(200);

    gw.rewrite(testPlan({ keys: { newbie: keys.newbie } }), { clientKeys: { newbie: NEW_KEY } });
    await gw.reload({ settled: true });
    for (let i = 0; i < 4; i++) expect(await status(KEYS.app)).toBe(401);
    expect(await status(NEW_KEY)).toBe(200);
    expect(gw.errorLog()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
  });
});
