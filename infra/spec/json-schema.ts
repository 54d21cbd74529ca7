/**
 * The FleetSpec JSON Schema, generated from the zod schema (one source): editors use it for
 * completion, hover docs and checking of spec files (`# yaml-language-server: $schema=…`), and
 * CI keeps schema/*.schema.json equal to it (infra/spec/json-schema.test.ts). Pure.
 */
import { z } from "zod";
import { CASE_INSENSITIVE_ENUMS, caseInsensitivePattern } from "./fields";
import { FLEET_CONFIG_KEY } from "./config-keys";
import { FleetSpec } from "./schema";

/** Where the generated schemas live, relative to the repository root. */
export const FLEET_SPEC_SCHEMA_FILE = "schema/fleet-spec.schema.json";
export const PULUMI_STACK_SCHEMA_FILE = "schema/pulumi-stack.schema.json";

export function fleetSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(FleetSpec, {
    target: "draft-2020-12",
    io: "input",
    override: (ctx) => {
      // zod drops the examples of anything holding a transform in io "input" (they may be outputs);
      // ours are written as a user writes them, so they stay.
      const examples = z.globalRegistry.get(ctx.zodSchema as unknown as z.ZodType)?.examples;
      if (examples !== undefined && ctx.jsonSchema.examples === undefined) ctx.jsonSchema.examples = examples as unknown[];
      const ci = CASE_INSENSITIVE_ENUMS.get(ctx.zodSchema);
      if (!ci) return;
      // Editors complete the canonical values (enum); the pattern accepts every casing and alias
      // (a JSON Schema pattern has no i flag, so each letter is spelled [xX]).
      for (const key of Object.keys(ctx.jsonSchema)) if (key !== "description" && key !== "examples") delete ctx.jsonSchema[key];
      Object.assign(ctx.jsonSchema, {
        type: "string",
        anyOf: [{ enum: [...ci.values] }, { pattern: caseInsensitivePattern([...ci.values, ...Object.keys(ci.aliases)]) }],
      });
    },
  });
  return { ...schema, $id: "https://github.com/llm-fleet/llm-fleet/schema/fleet-spec.schema.json", title: "llm-fleet FleetSpec" };
}

/** A Pulumi.<stack>.yaml file: its `config` may hold the fleet under llm-fleet:fleet, beside other keys. */
export function pulumiStackJsonSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://github.com/llm-fleet/llm-fleet/schema/pulumi-stack.schema.json",
    title: "Pulumi stack file of llm-fleet",
    type: "object",
    properties: {
      config: {
        type: "object",
        properties: { [FLEET_CONFIG_KEY]: { $ref: "fleet-spec.schema.json", description: "The fleet (FleetSpec)." } },
      },
    },
  };
}
