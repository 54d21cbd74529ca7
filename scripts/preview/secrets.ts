/**
 * Secrets a preview takes from the environment: in CI they are repository secrets, exported as
 * LLM_FLEET_KEY_<NAME> (gateway client keys) and LLM_FLEET_SECRET_<NAME> (the secrets the spec
 * names), the same variables `fleet gateway` reads. They override the base stack's values, so a
 * preview can run with keys of its own. Only names the fleet uses are read.
 */
import { requiredSecretNames } from "../../infra/plan/secrets";
import type { FleetPlan } from "../../infra/plan/types";
import { keyEnvName, secretEnvName } from "../../infra/render/gateway/env";

export interface EnvSecrets {
  /** Client key values by gateway key name (llm-fleet:clientKeys). */
  clientKeys: Record<string, string>;
  /** Secret values by secret name (llm-fleet:secrets). */
  secrets: Record<string, string>;
  /** The variables they came from, for the log (names only). */
  variables: string[];
}

export function secretsFromEnv(plan: FleetPlan, env: Readonly<Record<string, string | undefined>>): EnvSecrets {
  const pick = (names: string[], envName: (n: string) => string) =>
    names.flatMap((n): [string, string][] => {
      const value = env[envName(n)];
      return value ? [[n, value]] : [];
    });
  const clientKeys = pick(Object.keys(plan.gateway?.keys ?? {}), keyEnvName);
  const secrets = pick(requiredSecretNames(plan), secretEnvName);
  return {
    clientKeys: Object.fromEntries(clientKeys),
    secrets: Object.fromEntries(secrets),
    variables: [...clientKeys.map(([n]) => keyEnvName(n)), ...secrets.map(([n]) => secretEnvName(n))],
  };
}
