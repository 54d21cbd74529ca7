/**
 * The stacks the program is tested with: Pulumi.dev.yaml and every examples/*.yaml, each with
 * known fake secret values for every secret it needs, so tests can look for those values
 * wherever they must not be.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { usesAws } from "../../infra/cloud/settings";
import { requiredSecretNames } from "../../infra/plan/secrets";
import { planFleet } from "../../infra/plan";
import { requireGateway, type GatewayFleetPlan } from "../../infra/plan/gateway";
import { parseFleetSpec } from "../../infra/spec/parse";
import type { ProgramConfig } from "./harness";

export const ROOT = path.resolve(__dirname, "../..");

export const fakeClientKey = (name: string) => `ck-${name}-0123456789abcdef0123`;
export const fakeSecret = (name: string) => `sv-${name}-fedcba9876543210fedc`;
export const FAKE_SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake-ssh-key-material-for-tests\n-----END OPENSSH PRIVATE KEY-----\n";

export interface StackFixture {
  label: string;
  plan: GatewayFleetPlan;
  program: ProgramConfig;
  clientKeys: Record<string, string>;
  /** Every secret value the stack was given (client keys, named secrets, the SSH key). */
  secretValues: string[];
}

export function fixture(label: string, stack: string, rawSpec: unknown, extraConfig: Record<string, unknown> = {}): StackFixture {
  const plan = requireGateway(planFleet(parseFleetSpec(rawSpec, label)), label);
  const clientKeys = Object.fromEntries(Object.keys(plan.gateway.keys).map((k) => [k, fakeClientKey(k)]));
  const secrets = Object.fromEntries(requiredSecretNames(plan).map((s) => [s, fakeSecret(s)]));
  const ssh = plan.nodes.some((n) => n.provider === "ssh");
  const config: Record<string, unknown> = {
    "llm-fleet:fleet": rawSpec,
    "llm-fleet:clientKeys": clientKeys,
    ...(Object.keys(secrets).length > 0 ? { "llm-fleet:secrets": secrets } : {}),
    ...(ssh ? { "llm-fleet:sshPrivateKey": FAKE_SSH_KEY } : {}),
    ...(usesAws(plan) ? { "aws:region": plan.region } : {}),
    ...extraConfig,
  };
  return {
    label,
    plan,
    program: { stack, config, secretKeys: ["llm-fleet:clientKeys", "llm-fleet:secrets", "llm-fleet:sshPrivateKey"] },
    clientKeys,
    secretValues: [...Object.values(clientKeys), ...Object.values(secrets), ...(ssh ? [FAKE_SSH_KEY] : [])],
  };
}

export function devFixture(extraConfig: Record<string, unknown> = {}): StackFixture {
  const doc = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
  return fixture("Pulumi.dev.yaml", "dev", doc.config["llm-fleet:fleet"], extraConfig);
}

export const EXAMPLES = fs.readdirSync(path.join(ROOT, "examples")).filter((f) => f.endsWith(".yaml")).sort();

export function exampleFixture(file: string, extraConfig: Record<string, unknown> = {}): StackFixture {
  const raw = parseYaml(fs.readFileSync(path.join(ROOT, "examples", file), "utf8"));
  return fixture(`examples/${file}`, `example-${file.replace(/\.yaml$/, "")}`, raw, extraConfig);
}

export function allFixtures(): StackFixture[] {
  return [devFixture(), ...EXAMPLES.map((f) => exampleFixture(f))];
}
