/**
 * What apps learn about the fleet: the `models` stack output and the registry are both this
 * shape, built from the plan and the gateway URL. One function, so the Pulumi outputs and the
 * generated registry cannot drift apart. Never holds a secret.
 */
import type { FleetPlan, ModelPlan } from "../plan/types";
import type { Engine, SamplingSpec } from "../spec/schema";

export interface ModelEntry {
  id: string;
  aliases: string[];
  engine: Engine;
  /** OpenAI-compatible base URL to send this model's requests to (the gateway, or the path route). */
  baseURL: string;
  /** Tokens per sequence clients can count on (prompt + output); null when an external provider did not say. */
  contextLength: number | null;
  /** Largest max_tokens the gateway accepts for this model; null when unknown. */
  maxOutputTokens: number | null;
  sampling: SamplingSpec;
  systemPrompt: string | null;
  display: { name: string; description: string | null; tags: string[] };
  capabilities: string[];
  /** Replicas serving it now (0 for external providers) and the failover order after them. */
  replicas: number;
  tiers: string[];
  /** Extra path routes that reach this model, e.g. "/text2sql". */
  routes: string[];
}

export interface FleetOutputs {
  gatewayUrl: string;
  models: Record<string, ModelEntry>;
}

function entry(plan: FleetPlan, m: ModelPlan, gatewayUrl: string): ModelEntry {
  const routes = Object.entries(plan.gateway?.routes ?? {}).filter(([, id]) => id === m.id).map(([path]) => path);
  return {
    id: m.id,
    aliases: m.aliases,
    engine: m.engine,
    baseURL: `${gatewayUrl.replace(/\/$/, "")}/v1`,
    contextLength: m.contextLength,
    maxOutputTokens: m.maxOutputTokens,
    sampling: m.sampling,
    systemPrompt: m.systemPrompt ?? null,
    display: { name: m.display.name, description: m.display.description ?? null, tags: m.display.tags },
    capabilities: m.display.capabilities,
    replicas: m.replicas.length,
    tiers: m.tiers,
    routes,
  };
}

export function fleetOutputs(plan: FleetPlan, gatewayUrl: string): FleetOutputs {
  return { gatewayUrl, models: Object.fromEntries(plan.models.map((m) => [m.id, entry(plan, m, gatewayUrl)])) };
}

/** The gateway URL a spec implies before anything is deployed: its domain over HTTPS. */
export function plannedGatewayUrl(plan: FleetPlan): string | null {
  return plan.gateway?.domain ? `https://${plan.gateway.domain}` : null;
}
