/**
 * Fleets for the gateway tests, written as users write them (a spec parsed and planned for real),
 * plus the wiring of each planned replica to a loopback test server.
 */
import { parseFleetSpec } from "../../infra/spec/parse";
import { planFleet } from "../../infra/plan";
import type { FleetPlan } from "../../infra/plan/types";
import type { ResolveEndpoint } from "../../infra/render/gateway";
import { startFakeEngine, type FakeEngine, type FakeEngineOptions } from "../support/fake-engine";

/** Client keys of the test fleets (long enough to be accepted). */
export const KEYS = {
  app: "sk-fleet-app-0123456789abcdef",
  coder: "sk-fleet-coder-0123456789abcdef",
  tight: "sk-fleet-tight-0123456789abcdef",
  solo: "sk-fleet-solo-0123456789abcdef",
} as const;

/** Rate classes of the test fleet: generous, a tight request rate, and one request at a time. */
export const RATE_CLASSES = {
  std: { requestsPerMinute: 6000, burst: 500, concurrency: 64 },
  tight: { requestsPerMinute: 60, burst: 2, concurrency: 64 },
  solo: { requestsPerMinute: 6000, burst: 500, concurrency: 1 },
};

/** Upstream key of the external tier, as the gateway's environment holds it. */
export const CLOUD_SECRET = { env: "LLM_FLEET_SECRET_CLOUD_KEY", value: "sk-provider-secret-9876543210" } as const;

/**
 * chat: two replicas (weights 3:1) with aliases, falling back to coder, then to an external
 * provider; coder: one replica; cloud: external; sql: path route /text2sql.
 */
export function testSpec(gateway: Record<string, unknown> = {}, fleet: Record<string, unknown> = {}) {
  return parseFleetSpec({
    name: "gwtest",
    nodes: [
      { name: "box-a", provider: "ssh", host: "ops@10.9.0.1", gpus: ["L4", "L4"] },
      { name: "box-b", provider: "ssh", host: "ops@10.9.0.2", gpus: ["L4", "L4"] },
    ],
    models: [
      {
        id: "chat", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, aliases: ["chat-latest"], maxOutputTokens: 512,
        replicas: [{ nodes: ["box-a"], gpus: [0], weight: 3 }, { nodes: ["box-a"], gpus: [1] }],
      },
      { id: "coder", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, maxOutputTokens: 256, replicas: [{ nodes: ["box-b"], gpus: [0] }] },
      { id: "sql", engine: "vllm", source: { hf: "Snowflake/Arctic-Text2SQL-R1-7B" }, replicas: [{ nodes: ["box-b"], gpus: [1] }] },
      { id: "cloud", engine: "external", url: "https://api.provider.example/v1", upstreamModel: "provider/chat-large", apiKeySecret: "cloud-key", maxOutputTokens: 4096 },
    ],
    fallbacks: { chat: ["coder", "cloud"] },
    gateway: {
      keys: {
        app: { models: ["*"], rateClass: "std" },
        coder: { models: ["coder", "sql"], rateClass: "std" },
        tight: { models: ["chat"], rateClass: "tight" },
        solo: { models: ["chat"], rateClass: "solo" },
      },
      rateClasses: RATE_CLASSES,
      perIp: { requestsPerMinute: 60000, burst: 5000 },
      routes: { "/text2sql": "sql" },
      corsOrigins: ["https://app.example.com"],
      maxBodyMiB: 1,
      ...gateway,
    },
    ...fleet,
  });
}

export function testPlan(gateway: Record<string, unknown> = {}, fleet: Record<string, unknown> = {}): FleetPlan {
  return planFleet(testSpec(gateway, fleet));
}

/** One test server per planned replica (and one for each external model), by model id. */
export type EngineSet = Record<string, FakeEngine[]>;

export async function startEngines(plan: FleetPlan, options: Partial<FakeEngineOptions> = {}): Promise<EngineSet> {
  const set: EngineSet = {};
  for (const m of plan.models) {
    const count = m.engine === "external" ? 1 : m.replicas.length;
    const servedName = m.engine === "external" ? m.upstreamModel : m.id;
    const apiKey = m.engine === "external" ? CLOUD_SECRET.value : undefined;
    set[m.id] = await Promise.all(Array.from({ length: count }, () => startFakeEngine({ servedName, apiKey, ...options })));
  }
  return set;
}

export function resolveTo(engines: EngineSet): ResolveEndpoint {
  return (modelId, replicaIndex) => {
    const engine = engines[modelId]?.[replicaIndex];
    if (!engine) throw new Error(`no test server for ${modelId}[${replicaIndex}]`);
    return { host: "127.0.0.1", port: engine.port, tls: false };
  };
}

export async function closeEngines(engines: EngineSet | undefined): Promise<void> {
  if (!engines) return;
  await Promise.all(Object.values(engines).flat().map((e) => e.close()));
}

/** Forgets what the servers recorded and clears their faults. */
export function resetEngines(engines: EngineSet): void {
  for (const e of Object.values(engines).flat()) {
    e.requests.length = 0;
    e.setFault(null);
    e.setLoading(false);
    e.setChunkDelay(0);
    e.setResponseHeaders({});
  }
}
