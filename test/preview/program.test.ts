/**
 * The config `fleet preview up` writes, run through the real Pulumi program (infra/index.ts) under
 * Pulumi's mocks (test/infra/harness.ts): the program accepts it, every GPU instance is spot and
 * tagged with the expiry the sweep reads, and its outputs make a registry with no secret in it.
 */
import * as fs from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { generateRegistry, parseFleetOutputs } from "../../infra/registry";
import { previewConfig, previewFleet, readBaseConfig, secretsFromEnv, type ConfigJson } from "../../scripts/preview";
import { planFleet } from "../../infra/plan";
import { keyEnvName } from "../../infra/render/gateway/env";
import { runProgram, type ProgramConfig } from "../infra/harness";
import { devFixture, fixture } from "../infra/stacks";

/** The fixture's config as `pulumi config --show-secrets --json` would print it. */
function asConfigJson(program: ProgramConfig): ConfigJson {
  return Object.fromEntries(
    Object.entries(program.config).map(([key, v]) => [
      key,
      typeof v === "string" ? { value: v, secret: program.secretKeys.includes(key) } : { value: JSON.stringify(v), objectValue: v, secret: program.secretKeys.includes(key) },
    ]),
  );
}

/** …and back into the harness's form, as Pulumi hands config to the program. */
function asProgramConfig(stack: string, config: ConfigJson): ProgramConfig {
  return {
    stack,
    config: Object.fromEntries(Object.entries(config).map(([key, e]) => [key, e.objectValue ?? e.value])),
    secretKeys: Object.entries(config).filter(([, e]) => e.secret).map(([key]) => key),
  };
}

const mixed = parseYaml(fs.readFileSync("examples/mixed-gpu-vllm.yaml", "utf8")) as { gateway: Record<string, unknown> };
const BASES = [
  { label: "the dev stack", base: () => devFixture(), instances: ["node-gpu-l4", "node-gpu-l40s"] },
  {
    // Its domain and certificate are dropped in the preview, and so are the certificate's secrets.
    label: "a stack with a domain and TLS (examples/mixed-gpu-vllm.yaml)",
    base: () => fixture("mixed+tls", "prod", { ...mixed, gateway: { ...mixed.gateway, tls: { certificateSecret: "tls-cert", keySecret: "tls-key" } } }),
    instances: ["dev-a10g-1", "dev-a10g-2", "dev-l4", "qwen-a10g-1", "qwen-a10g-2", "qwen-l40s", "r1-a10g", "r1-l40s-1", "r1-l40s-2", "r1-l40s-3"].map((n) => `node-${n}`),
  },
];

describe.each(BASES)("a preview of $label in the real program", ({ base: makeBase, instances: instanceNames }) => {
  it("deploys spot instances tagged with the expiry and exports a registry without secrets", async () => {
    const base = makeBase();
    const baseConfig = asConfigJson(base.program);
    const { spec: baseSpec, settings } = readBaseConfig(baseConfig, "dev");
    const { spec } = previewFleet(baseSpec, settings, "preview-pr-7", "dev");
    const expiresAt = "2026-03-02T10:00:00.000Z";
    const plan = planFleet(spec);
    const firstKey = Object.keys(plan.gateway!.keys)[0]!;
    const fromEnv = secretsFromEnv(plan, { [keyEnvName(firstKey)]: "ck-preview-app-0123456789" });
    const run = await runProgram(asProgramConfig("preview-pr-7", previewConfig(baseConfig, plan, expiresAt, fromEnv)), async () => {
      vi.resetModules();
      return import("../../infra/index.js");
    });

    const instances = run.resources.filter((r) => r.type === "aws:ec2/instance:Instance" && r.name.startsWith("node-"));
    expect(instances.map((r) => r.name).sort()).toEqual(instanceNames);
    for (const instance of instances) {
      expect(instance.inputs.instanceMarketOptions, instance.name).toMatchObject({ marketType: "spot" });
      expect(instance.inputs.tags, instance.name).toMatchObject({ "expires-at": expiresAt, fleet: "preview-pr-7", stack: "preview-pr-7" });
    }

    const outputs = parseFleetOutputs(run.outputs, "preview-pr-7 outputs");
    expect(Object.keys(outputs.models)).toEqual(plan.models.map((m) => m.id));
    const files = Object.values(generateRegistry(outputs, "stack preview-pr-7")).join("\n");
    for (const secret of [...base.secretValues, "ck-preview-app-0123456789"]) expect(files).not.toContain(secret);
    expect(run.outputs.clientKeys).toMatchObject({ [firstKey]: "ck-preview-app-0123456789" });
    expect(run.secretOutputs.has("clientKeys")).toBe(true);
  });
});
