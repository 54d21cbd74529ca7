/**
 * Each question about a fleet's secret names has one answer (secrets.ts), read by the settings
 * check, the preview scripts, the AWS and docker gateways and `fleet gateway`.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadSpecFile } from "../spec/load";
import { parseFleetSpec } from "../spec/parse";
import { planFleet } from "./fleet";
import { ENGINE_API_KEY_SECRET, nginxEnvSecrets, providerKeySecrets, requiredSecretNames } from "./secrets";

const example = loadSpecFile(path.join(__dirname, "../../examples/cpu-llamacpp-fallback.yaml"));

/** The example with a Hugging Face token, TLS by secret, a provider without a key and one key used twice. */
function busyPlan() {
  const spec = structuredClone(example) as unknown as Record<string, unknown> & { models: Record<string, unknown>[]; gateway: Record<string, unknown> };
  spec.hfTokenSecret = "hf-token";
  spec.gateway.tls = { certificateSecret: "gw-cert", keySecret: "gw-key" };
  spec.models.push(
    { id: "keyless", engine: "external", url: "http://10.0.0.9:8000/v1", upstreamModel: "local" },
    { id: "cloud-chat-2", engine: "external", url: "https://api.openai.com/v1", upstreamModel: "gpt-4o", apiKeySecret: "openai-key" },
  );
  return planFleet(parseFleetSpec(spec));
}

describe("secret names", () => {
  it("provider keys: each external model's apiKeySecret, once, sorted", () => {
    expect(providerKeySecrets(busyPlan())).toEqual(["openai-key", "together-key"]);
  });

  it("llm-fleet:secrets: the Hugging Face token, the provider keys and the TLS pair, never the generated engine key", () => {
    expect(requiredSecretNames(busyPlan())).toEqual(["gw-cert", "gw-key", "hf-token", "openai-key", "together-key"]);
    expect(requiredSecretNames(planFleet(example))).toEqual(["openai-key", "together-key"]);
  });

  it("nginx's environment: the provider keys, plus the engines' key only where the gateway sends it", () => {
    expect(nginxEnvSecrets(busyPlan(), false)).toEqual(["openai-key", "together-key"]);
    expect(nginxEnvSecrets(busyPlan(), true)).toEqual([ENGINE_API_KEY_SECRET, "openai-key", "together-key"]);
  });
});
