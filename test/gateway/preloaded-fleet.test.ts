/**
 * Every path that reads the preloaded `fleet` (fleet.json through js_preload_object: frozen, and its
 * objects and lists have no prototype, so a method called on one throws in the request) with names
 * that every ordinary object inherits: models, aliases, keys and routes called constructor,
 * toString, hasOwnProperty, valueOf, isPrototypeOf; a key allowed 21 models; metering with a
 * quota, a tier with provider limits, an anyKey tier, an admin key. Real nginx + njs 0.7.9 and the
 * usage service; every answer must be the one the fleet's data gives, and no request may reach the
 * router's catch (500 and an [error] line).
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import { parseFleetSpec } from "../../infra/spec/parse";
import { closeEngines, resetEngines, resolveTo, startEngines, type EngineSet } from "./fleets";
import { call, startGateway, type GatewayProcess } from "./harness";
import { startUsageService, usageDir, type UsageServiceProcess } from "./usage-harness";

const KEYS = {
  constructor: "sk-proto-constructor-0123456789",
  tostring: "sk-proto-tostring-0123456789ab",
  admin: "sk-proto-admin-0123456789abcdef",
} as const;
const MANY = Array.from({ length: 20 }, (_, i) => `x${i}`);

/** The test fleet; `changed`: the spec a reload brings (an alias more, tostring's key moved to constructor). */
function plan(changed = false) {
  return planFleet(parseFleetSpec({
    name: "proto",
    nodes: [{ name: "box", provider: "ssh", host: "ops@10.9.0.1", gpus: ["L4", "L4"] }],
    models: [
      { id: "constructor", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, aliases: ["toString", "isPrototypeOf", ...(changed ? ["propertyIsEnumerable"] : [])], replicas: [{ nodes: ["box"], gpus: [0] }] },
      { id: "hasOwnProperty", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["box"], gpus: [1] }], limits: { requestsPerMinute: 1000 } },
      { id: "valueOf", engine: "external", url: "https://api.provider.example/v1", upstreamModel: "provider/x", apiKeySecret: "cloud-key", limits: { requestsPerMinute: 1000 } },
      ...MANY.map((id) => ({ id, engine: "external", url: "https://api.provider.example/v1", upstreamModel: id })),
    ],
    // Fallbacks through Object.prototype-named models (a model without an entry is planned without
    // tiers: infra/plan/plan.test.ts "model ids named like Object.prototype members").
    fallbacks: { constructor: ["hasOwnProperty", { model: "valueOf", anyKey: true }], hasOwnProperty: ["x1"], valueOf: ["x0"] },
    gateway: {
      metering: true,
      keys: {
        constructor: { models: ["constructor", ...MANY], rateClass: "std", quota: { requestsPerDay: 1000 } },
        tostring: { models: [changed ? "constructor" : "hasOwnProperty"], rateClass: "std" },
        admin: { models: ["*"], rateClass: "std", admin: true },
      },
      rateClasses: { std: { requestsPerMinute: 60000, burst: 5000, concurrency: 64 } },
      perIp: { requestsPerMinute: 60000, burst: 5000 },
      routes: { "/constructor": "constructor", "/tostring": "hasOwnProperty" },
    },
  }));
}

let engines: EngineSet;
let dir: string;
let gw: GatewayProcess;
let service: UsageServiceProcess;

beforeAll(async () => {
  const p = plan();
  engines = await startEngines(p);
  dir = usageDir();
  gw = await startGateway(p, { clientKeys: { ...KEYS }, resolveEndpoint: resolveTo(engines), usage: { dir } });
  service = await startUsageService(gw.prefix);
});
afterAll(async () => {
  await service?.stop();
  await gw?.stop();
  await closeEngines(engines);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => resetEngines(engines));

const get = (path: string, key: keyof typeof KEYS) => call(`${gw.url}${path}`, { key: KEYS[key] });
const chat = (key: keyof typeof KEYS, model: string | undefined, path = "/v1/chat/completions") =>
  call(`${gw.url}${path}`, { key: KEYS[key], body: { ...(model === undefined ? {} : { model }), messages: [{ role: "user", content: "hi" }] } });
/** A model's test servers (by a string: `engines.constructor` would be Object's own to the type checker). */
const served = (id: string) => engines[id]!;
const ids = (list: { data: { id: string }[] }) => list.data.map((d) => d.id);

describe("a fleet whose names every object inherits", () => {
  it("/v1/models and /v1/models/<name>: each key sees its models with their aliases, nothing inherited", async () => {
    expect(ids((await get("/v1/models", "constructor")).json)).toEqual(["constructor", "toString", "isPrototypeOf", ...MANY]);
    expect(ids((await get("/v1/models", "tostring")).json)).toEqual(["hasOwnProperty"]);
    expect(ids((await get("/v1/models", "admin")).json)).toEqual(["constructor", "toString", "isPrototypeOf", "hasOwnProperty", "valueOf", ...MANY]);
    expect((await get("/v1/models/toString", "constructor")).json).toMatchObject({ id: "toString", alias_of: "constructor" });
    expect((await get("/v1/models/x7", "constructor")).json).toMatchObject({ id: "x7", aliases: [] });
    for (const [key, name] of [["constructor", "hasOwnProperty"], ["constructor", "__proto__"], ["tostring", "toString"], ["tostring", "valueOf"], ["admin", "__proto__"], ["admin", "propertyIsEnumerable"]] as const) {
      const r = await get(`/v1/models/${name}`, key);
      expect(r.status, `${key} ${name}`).toBe(404);
      expect(r.json.error.code).toBe("model_not_found");
    }
    expect(ids((await get("/constructor/v1/models", "constructor")).json)).toEqual(["constructor", "toString", "isPrototypeOf"]);
    expect(ids((await get("/constructor/v1/models", "tostring")).json)).toEqual([]);
  });

  it("/health lists the key's models and only the tiers it may use", async () => {
    const restricted = await get("/health", "tostring");
    expect(restricted.json.models).toEqual({ hasOwnProperty: { engine: "vllm", replicas: 1, healthy: 1, tiers: [] } });
    const own = (await get("/health", "constructor")).json.models;
    expect(Object.keys(own).sort()).toEqual(["constructor", ...MANY].sort());
    expect(own.constructor.tiers).toEqual([]);
    const all = (await get("/health", "admin")).json.models;
    expect(all.constructor.tiers).toEqual(["hasOwnProperty", "valueOf"]);
    expect(all.valueOf).toEqual({ engine: "external", probed: false, tiers: ["x0"] });
  });

  it("routes by body, alias and path; refuses what a key may not use and names no one can send", async () => {
    expect((await chat("constructor", "toString")).json.model).toBe("constructor");
    expect((await chat("constructor", "isPrototypeOf")).json.model).toBe("constructor");
    expect((await chat("admin", "hasOwnProperty")).json.model).toBe("hasOwnProperty");
    expect((await chat("admin", "valueOf")).json.model).toBe("provider/x");
    expect((await chat("tostring", undefined, "/tostring")).json.model).toBe("hasOwnProperty");
    expect((await chat("constructor", undefined, "/constructor/v1/chat/completions")).json.model).toBe("constructor");
    for (const [key, model, status] of [["constructor", "hasOwnProperty", 403], ["tostring", "toString", 403], ["constructor", "__proto__", 404], ["admin", "__proto__", 404], ["admin", "hasOwnproperty", 404], ["tostring", "propertyIsEnumerable", 404]] as const) {
      expect((await chat(key, model)).status, `${key} ${model}`).toBe(status);
    }
    expect((await chat("tostring", undefined, "/constructor")).status).toBe(403);
    expect((await get("/__proto__/v1/models", "admin")).status).toBe(404);
  });

  it("fails over along the tiers the key may use (an anyKey tier included), and through a tier with provider limits", async () => {
    for (const e of served("constructor")) e.setFault({ kind: "status", status: 500 });
    // constructor's key may not use hasOwnProperty: the anyKey tier valueOf serves it.
    const restricted = await chat("constructor", "constructor");
    expect(restricted.json.model).toBe("provider/x");
    expect(served("hasOwnProperty").flatMap((e) => e.requests)).toHaveLength(0);
    expect((await chat("admin", "toString")).json.model).toBe("hasOwnProperty");
  });

  it("/v1/usage: own usage, an admin's ?key= for any key, inherited names unknown", async () => {
    expect((await get("/v1/usage", "constructor")).json).toMatchObject({ key: "constructor", day: { limits: { requests: 1000 } } });
    expect((await get("/v1/usage?key=tostring", "admin")).json).toMatchObject({ key: "tostring" });
    for (const name of ["toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      const r = await get(`/v1/usage?key=${name}`, "admin");
      expect(r.status, name).toBe(404);
      expect(r.json.error.code).toBe("unknown_key");
    }
    expect((await get("/v1/usage?key=admin", "tostring")).status).toBe(403);
  });

  it("a spec change reaches the router on nginx -s reload: the new fleet.json is preloaded by the new workers", async () => {
    gw.rewrite(plan(true));
    await gw.reload();
    // A keep-alive connection to a retired worker is closed under the client: one retry.
    const models = await get("/v1/models", "tostring").catch(() => get("/v1/models", "tostring"));
    expect(ids(models.json)).toEqual(["constructor", "toString", "isPrototypeOf", "propertyIsEnumerable"]);
    expect((await chat("tostring", "propertyIsEnumerable")).json.model).toBe("constructor");
    expect((await chat("tostring", "hasOwnProperty")).status).toBe(403);
  });

  it("none of it reached the router's catch", () => {
    expect(gw.errorLog()).not.toMatch(/router failed|key lookup failed|health probe failed|TypeError/);
  });
});
