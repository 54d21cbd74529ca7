/**
 * The usage tests' fleet: chat (own replica) falling back to coder (a provider limit of 2
 * requests/minute and a 1 s timeout) and then cloud (external); keys with and without quotas.
 * Every upstream is a deterministic stub (usage-stub.ts) on loopback.
 */
import { planFleet } from "../../infra/plan";
import type { FleetPlan } from "../../infra/plan/types";
import type { ResolveEndpoint } from "../../infra/render/gateway";
import { parseFleetSpec } from "../../infra/spec/parse";
import { startUsageStub, type UsageStub } from "./usage-stub";

export const USAGE_KEYS = {
  admin: "sk-usage-admin-0123456789abcdef",
  capped: "sk-usage-capped-0123456789abcdef",
  plain: "sk-usage-plain-0123456789abcdef",
} as const;

export const CAPPED_REQUESTS_PER_DAY = 3;
export const CODER_REQUESTS_PER_MINUTE = 2;

/** `coderTimeoutSeconds`: coder's limits.timeoutSeconds (1 unless a test needs long requests to it). */
export function usagePlan(metering: boolean, options: { coderTimeoutSeconds?: number } = {}): FleetPlan {
  return planFleet(
    parseFleetSpec({
      name: "usagetest",
      nodes: [{ name: "box", provider: "ssh", host: "ops@10.9.0.1", gpus: ["L4", "L4"] }],
      models: [
        { id: "chat", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["box"], gpus: [0] }] },
        {
          id: "coder", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["box"], gpus: [1] }],
          ...(metering ? { limits: { requestsPerMinute: CODER_REQUESTS_PER_MINUTE, timeoutSeconds: options.coderTimeoutSeconds ?? 1 } } : {}),
        },
        { id: "cloud", engine: "external", url: "https://api.provider.example/v1", upstreamModel: "provider/large" },
      ],
      fallbacks: { chat: ["coder", "cloud"] },
      gateway: {
        metering,
        keys: {
          admin: { models: ["*"], rateClass: "std", admin: true },
          capped: { models: ["chat"], rateClass: "std", ...(metering ? { quota: { requestsPerDay: CAPPED_REQUESTS_PER_DAY } } : {}) },
          // Failover serves a key only models it may use (issue 13 item 1): plain may use the whole chain.
          plain: { models: ["chat", "coder", "cloud"], rateClass: "std" },
        },
        rateClasses: { std: { requestsPerMinute: 60000, burst: 5000, concurrency: 64 } },
        perIp: { requestsPerMinute: 60000, burst: 5000 },
      },
    }),
  );
}

export type UsageStubs = Record<"chat" | "coder" | "cloud", UsageStub>;

export async function startUsageStubs(): Promise<UsageStubs> {
  return { chat: await startUsageStub("chat"), coder: await startUsageStub("coder"), cloud: await startUsageStub("provider/large") };
}

export function resolveToStubs(stubs: UsageStubs): ResolveEndpoint {
  return (modelId) => ({ host: "127.0.0.1", port: stubs[modelId as keyof UsageStubs].port, tls: false });
}

export function resetStubs(stubs: UsageStubs): void {
  for (const s of Object.values(stubs)) {
    s.bodies.length = 0;
    s.sendUsage = true;
    s.fault = null;
  }
}
