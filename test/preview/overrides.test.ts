import { describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import { FLEET_CONFIG_KEY, loadSpecFile, loadStackSpec } from "../../infra/spec/load";
import type { FleetSpec } from "../../infra/spec/schema";
import {
  CLIENT_KEYS_CONFIG_KEY,
  EXPIRES_AT_CONFIG_KEY,
  PREVIEW_CONFIG_KEY,
  SECRETS_CONFIG_KEY,
  previewConfig,
  previewFleet,
  readBaseConfig,
  secretsFromEnv,
  type ConfigJson,
} from "../../scripts/preview";
import { configFromStackFile } from "./fake-backend";

const dev = loadStackSpec("dev");

/** dev with a second replica of qwen2.5-7b on its own L4 instance. */
function devWithTwoReplicas(): FleetSpec {
  const spec = structuredClone(dev);
  spec.nodes.push({ name: "gpu-l4b", provider: "aws", instanceType: "g6.xlarge", spot: false, labels: {} });
  const small = spec.models.find((m) => m.id === "qwen2.5-7b");
  if (!small || small.engine === "external") throw new Error("dev changed: qwen2.5-7b is not a served model");
  small.replicas.push({ nodes: ["gpu-l4b"], weight: 1 });
  return spec;
}

describe("previewFleet", () => {
  it("renames the fleet after the stack and puts every AWS node on spot, leaving the rest as it was", () => {
    const { spec, changes } = previewFleet(dev, {}, "preview-pr-7", "dev");
    expect(spec.name).toBe("preview-pr-7");
    expect(spec.nodes.map((n) => n.provider === "aws" && n.spot)).toEqual([true, true]);
    expect(spec.models).toEqual(dev.models);
    expect(spec.gateway).toEqual(dev.gateway);
    expect(changes).toEqual(["name: preview-pr-7 (base: dev)", "node gpu-l40s: spot", "node gpu-l4: spot"]);
    expect(dev.nodes.some((n) => n.provider === "aws" && n.spot)).toBe(false); // the base is not mutated
  });

  it("cuts replicas to maxReplicasPerModel, drops the nodes that leaves idle, and the plan costs less", () => {
    const base = devWithTwoReplicas();
    const { spec, changes } = previewFleet(base, { maxReplicasPerModel: 1 }, "preview-x", "dev");
    const small = spec.models.find((m) => m.id === "qwen2.5-7b");
    expect(small?.engine !== "external" && small?.replicas).toEqual([{ nodes: ["gpu-l4"], weight: 1 }]);
    expect(spec.nodes.map((n) => n.name)).toEqual(["gpu-l40s", "gpu-l4"]);
    expect(changes).toContain("qwen2.5-7b: 1 of 2 replicas (llm-fleet:preview.maxReplicasPerModel)");
    expect(changes).toContain("node gpu-l4b: dropped, no replica left on it");
    const g6 = planFleet(base).nodes.find((n) => n.name === "gpu-l4b")!.costPerHourUSD;
    expect(planFleet(spec).totals.costPerHourUSD).toBeCloseTo(planFleet(base).totals.costPerHourUSD - g6, 4);
  });

  it("without the setting keeps every replica", () => {
    const base = devWithTwoReplicas();
    expect(previewFleet(base, {}, "preview-x", "dev").spec.nodes).toHaveLength(3);
  });

  it("does not claim the base's domain: drops it (and its certificate) unless previews get their own", () => {
    const mixed = loadSpecFile("examples/mixed-gpu-vllm.yaml");
    const dropped = previewFleet({ ...mixed, gateway: { ...mixed.gateway!, tls: { certificateSecret: "tls-cert", keySecret: "tls-key" } } }, {}, "preview-a", "prod");
    expect(dropped.spec.gateway!.domain).toBeUndefined();
    expect(dropped.spec.gateway!.tls).toBeUndefined();
    expect(dropped.changes.join("\n")).toMatch(/gateway.domain llm.example.com: dropped, the base serves it \(set llm-fleet:preview.domain/);

    const own = previewFleet(mixed, { domain: "{stack}.preview.example.com" }, "preview-a", "prod");
    expect(own.spec.gateway!.domain).toBe("preview-a.preview.example.com");
  });

  it("refuses SSH and Docker hosts, which the base already runs engines on", () => {
    expect(() => previewFleet(loadSpecFile("examples/l4-pair-text2sql.yaml"), {}, "preview-a", "lab")).toThrow(
      /preview of stack lab: 1 problem\n {2}nodes\[0\]: ssh host "l4-box" is a machine stack lab already runs engines on/,
    );
    expect(() => previewFleet(loadSpecFile("examples/rtx-ollama.yaml"), {}, "preview-a", "desk")).toThrow(/nodes\[0\]: docker host "rtx-box"/);
  });
});

describe("readBaseConfig", () => {
  const devConfig = configFromStackFile("Pulumi.dev.yaml");

  it("reads the fleet and the optional preview block from the base stack's config", () => {
    const { spec, settings } = readBaseConfig(devConfig, "dev");
    expect(spec).toEqual(dev);
    expect(settings).toEqual({});
    const withBlock = { ...devConfig, [PREVIEW_CONFIG_KEY]: { value: '{"maxReplicasPerModel":1}', objectValue: { maxReplicasPerModel: 1 }, secret: false } };
    expect(readBaseConfig(withBlock, "dev").settings).toEqual({ maxReplicasPerModel: 1 });
  });

  it("names the config path of every problem", () => {
    expect(() => readBaseConfig({}, "dev")).toThrow(/stack dev: 1 problem\n {2}config.llm-fleet:fleet: is missing/);
    const bad: ConfigJson = { ...devConfig, [PREVIEW_CONFIG_KEY]: { objectValue: { maxReplicasPerModel: 0, spot: false }, secret: false } };
    expect(() => readBaseConfig(bad, "dev")).toThrow(/stack dev: 2 problems/);
    expect(() => readBaseConfig(bad, "dev")).toThrow(/ {2}config.llm-fleet:preview: Unrecognized key: "spot"/);
    expect(() => readBaseConfig(bad, "dev")).toThrow(/ {2}config.llm-fleet:preview.maxReplicasPerModel: Too small/);
  });
});

describe("previewConfig", () => {
  it("copies the base config, secrets still secret, with the preview fleet and the expiry", () => {
    const base: ConfigJson = {
      ...configFromStackFile("Pulumi.dev.yaml"),
      "llm-fleet:clientKeys": { value: '{"app":"k1"}', secret: true },
      [PREVIEW_CONFIG_KEY]: { objectValue: { maxReplicasPerModel: 1 }, secret: false },
    };
    const { spec } = previewFleet(dev, {}, "preview-pr-7", "dev");
    const config = previewConfig(base, planFleet(spec), "2026-03-02T10:00:00.000Z");
    expect(config["aws:region"]).toEqual({ value: "us-east-1", secret: false });
    expect(config["llm-fleet:clientKeys"]).toEqual({ value: '{"app":"k1"}', secret: true });
    expect(config[FLEET_CONFIG_KEY]).toEqual({ value: JSON.stringify(spec), objectValue: spec, secret: false });
    expect(config[EXPIRES_AT_CONFIG_KEY]).toEqual({ value: "2026-03-02T10:00:00.000Z", secret: false });
    expect(config[PREVIEW_CONFIG_KEY]).toBeUndefined();
    expect(base[FLEET_CONFIG_KEY]?.objectValue).toEqual(configFromStackFile("Pulumi.dev.yaml")[FLEET_CONFIG_KEY]!.objectValue); // the base's copy is untouched
  });

  it("leaves out the secrets of a dropped domain's certificate, which the program would refuse", () => {
    const mixed = loadSpecFile("examples/mixed-gpu-vllm.yaml");
    const withTls = { ...mixed, gateway: { ...mixed.gateway!, tls: { certificateSecret: "tls-cert", keySecret: "tls-key" } } };
    const secrets = { "hf-token": "hf", "tls-cert": "PEM", "tls-key": "KEY" };
    const base: ConfigJson = {
      [FLEET_CONFIG_KEY]: { objectValue: withTls, secret: false },
      [SECRETS_CONFIG_KEY]: { value: JSON.stringify(secrets), objectValue: secrets, secret: true },
    };
    const dropped = previewConfig(base, planFleet(previewFleet(withTls, {}, "preview-a", "prod").spec), "2026-03-02T10:00:00.000Z");
    expect(dropped[SECRETS_CONFIG_KEY]).toEqual({ value: '{"hf-token":"hf"}', objectValue: { "hf-token": "hf" }, secret: true });
    const kept = previewConfig(base, planFleet(previewFleet(withTls, { domain: "{stack}.preview.example.com" }, "preview-a", "prod").spec), "2026-03-02T10:00:00.000Z");
    expect(kept[SECRETS_CONFIG_KEY]).toEqual(base[SECRETS_CONFIG_KEY]);
  });
});

describe("secretsFromEnv", () => {
  const plan = planFleet(dev);

  it("reads LLM_FLEET_KEY_<NAME> for gateway keys and LLM_FLEET_SECRET_<NAME> for the secrets the fleet names, nothing else", () => {
    const env = {
      LLM_FLEET_KEY_APP: "ck-app",
      LLM_FLEET_SECRET_OPENAI_KEY: "sk-openai",
      LLM_FLEET_SECRET_HF_TOKEN: "",
      LLM_FLEET_KEY_NOT_A_KEY: "x",
      LLM_FLEET_SECRET_UNUSED: "y",
      HOME: "/root",
    };
    expect(secretsFromEnv(plan, env)).toEqual({
      clientKeys: { app: "ck-app" },
      secrets: { "openai-key": "sk-openai" },
      variables: ["LLM_FLEET_KEY_APP", "LLM_FLEET_SECRET_OPENAI_KEY"],
    });
  });

  it("overrides the base's values key by key, as secret objects", () => {
    const base: ConfigJson = { ...configFromStackFile("Pulumi.dev.yaml"), [CLIENT_KEYS_CONFIG_KEY]: { value: '{"app":"old","admin":"kept"}', secret: true } };
    const config = previewConfig(base, plan, "2026-03-02T10:00:00.000Z", secretsFromEnv(plan, { LLM_FLEET_KEY_APP: "new", LLM_FLEET_SECRET_HF_TOKEN: "hf" }));
    expect(config[CLIENT_KEYS_CONFIG_KEY]).toEqual({ value: '{"app":"new","admin":"kept"}', objectValue: { app: "new", admin: "kept" }, secret: true });
    expect(config[SECRETS_CONFIG_KEY]).toEqual({ value: '{"hf-token":"hf"}', objectValue: { "hf-token": "hf" }, secret: true });
    expect(previewConfig(base, plan, "2026-03-02T10:00:00.000Z", secretsFromEnv(plan, {}))[CLIENT_KEYS_CONFIG_KEY]).toEqual(base[CLIENT_KEYS_CONFIG_KEY]);
  });
});
