/**
 * Each question about a fleet's secret names has one answer (secrets.ts), read by the settings
 * check, the preview scripts, the AWS and docker gateways and `fleet gateway`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AMAZON_DNS, gatewayRenderOptions } from "../cloud/gatewayHost";
import { renderGateway, secretEnvName } from "../render/gateway";
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

describe("the deployed nginx reads only what its container is given", () => {
  const examples = fs.readdirSync(path.join(__dirname, "../../examples")).filter((f) => f.endsWith(".yaml"));
  it.each(examples)("%s: every env line of nginx.conf names a secret of nginxEnvSecrets", (file) => {
    const plan = planFleet(loadSpecFile(path.join(__dirname, "../../examples", file)));
    if (!plan.gateway) return;
    const keys = Object.fromEntries(Object.keys(plan.gateway.keys).map((k, i) => [k, `ck-${i}-0123456789abcdef`]));
    const conf = renderGateway(plan, gatewayRenderOptions(keys, [AMAZON_DNS]))["gateway/nginx.conf"]!.contents;
    const read = [...conf.matchAll(/^env (\w+);$/gm)].map((m) => m[1]);
    expect(read.length).toBeGreaterThan(0);
    expect(nginxEnvSecrets(plan, true).map(secretEnvName)).toEqual(expect.arrayContaining(read));
  });
});
