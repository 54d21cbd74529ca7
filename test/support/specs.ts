/** Small spec builders for planner tests: a valid fleet around the parts a test cares about. */
import { parseFleetSpec } from "../../infra/spec/parse";
import type { FleetSpec } from "../../infra/spec/schema";

export const GATEWAY = {
  keys: { app: { models: ["*"], rateClass: "std" } },
  rateClasses: { std: { requestsPerMinute: 60, burst: 10, concurrency: 4 } },
  perIp: { requestsPerMinute: 120, burst: 20 },
};

/** A fleet from raw nodes and models, parsed like a user's spec (so it is shape- and reference-checked). */
export function fleet(nodes: unknown[], models: unknown[], extra: Record<string, unknown> = {}): FleetSpec {
  return parseFleetSpec({ name: "test", nodes, models, gateway: GATEWAY, ...extra });
}

export const sshGpuNode = (name: string, gpus: string[], cpu?: object) => ({ name, provider: "ssh", host: `ops@${name}.lan`, gpus, ...(cpu ? { cpu } : {}) });
export const awsNode = (name: string, instanceType: string) => ({ name, provider: "aws", instanceType });
