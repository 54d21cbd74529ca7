/**
 * Which secrets a fleet uses, by name (never by value): the one answer to each question the CLI,
 * the renderers and the Pulumi program ask about them. Pure.
 */
import type { FleetPlan } from "./types";

/** The key every vLLM / llama.cpp engine checks; the gateway sends it upstream. The program generates it. */
export const ENGINE_API_KEY_SECRET = "engine-api-key";

/** Names of the generated self-signed certificate's secrets (spec gateway.tls names a provided one). */
export const SELF_SIGNED_TLS = { certificateSecret: "gateway-tls-certificate", keySecret: "gateway-tls-key" } as const;
/** The AWS gateway's nginx files, kept in Secrets Manager (too large for user data). */
export const GATEWAY_FILES_SECRET = "gateway-files";
/** Secret names the program owns; a spec may not use them (spec rule secretNamesNotReserved). */
export const RESERVED_SECRET_NAMES: readonly string[] = [ENGINE_API_KEY_SECRET, SELF_SIGNED_TLS.certificateSecret, SELF_SIGNED_TLS.keySecret, GATEWAY_FILES_SECRET];

type SecretsOf = Pick<FleetPlan, "spec" | "models" | "gateway">;

const sortedUnique = (names: string[]) => [...new Set(names)].sort();

/** Secrets holding the external providers' keys: each external model's apiKeySecret. */
export function providerKeySecrets(plan: SecretsOf): string[] {
  return sortedUnique(plan.models.flatMap((m) => (m.engine === "external" && m.apiKeySecret ? [m.apiKeySecret] : [])));
}

/** Names the fleet reads from `llm-fleet:secrets` (LLM_FLEET_SECRET_<NAME> locally): the engine key is generated, not configured. */
export function requiredSecretNames(plan: SecretsOf): string[] {
  const tls = plan.gateway?.tls;
  return sortedUnique([
    ...(plan.spec.hfTokenSecret ? [plan.spec.hfTokenSecret] : []),
    ...providerKeySecrets(plan),
    ...(tls ? [tls.certificateSecret, tls.keySecret] : []),
  ]);
}

/**
 * Secrets nginx reads from its environment: the provider keys, and the engines' key where the
 * gateway sends one (a deployed gateway; `fleet gateway` on a laptop calls engines without it).
 */
export function nginxEnvSecrets(plan: SecretsOf, withEngineKey: boolean): string[] {
  return sortedUnique([...providerKeySecrets(plan), ...(withEngineKey ? [ENGINE_API_KEY_SECRET] : [])]);
}
