/**
 * The JSON Schema editors read: generated from the zod schema, kept equal to the files in
 * schema/, documenting every field, and agreeing with the parser on the examples and starters.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { schemaFiles } from "../../scripts/commands/schema";
import { FLEET_SPEC_SCHEMA_FILE, PULUMI_STACK_SCHEMA_FILE, fleetSpecJsonSchema, pulumiStackJsonSchema } from "./json-schema";

const EXAMPLES = fs.readdirSync("examples").filter((f) => f.endsWith(".yaml")).map((f) => path.join("examples", f));
const STARTERS = fs.readdirSync("scripts/starters").map((f) => path.join("scripts/starters", f));

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(fleetSpecJsonSchema(), "fleet-spec.schema.json");
  return { spec: ajv.getSchema("fleet-spec.schema.json")!, stack: ajv.compile(pulumiStackJsonSchema()) };
}

describe("schema/*.schema.json", () => {
  it.each(Object.keys(schemaFiles()))("%s is current (npm run schema rewrites it)", (rel) => {
    expect(fs.readFileSync(rel, "utf8"), `${rel} is stale: run npm run schema`).toBe(schemaFiles()[rel]);
  });

  it("documents every field with a description and an example", () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((n) => walk(n, where));
      if (!node || typeof node !== "object") return;
      for (const [key, child] of Object.entries(node)) {
        if (key === "examples" || key === "default") continue;
        if (key !== "properties") {
          walk(child, where);
          continue;
        }
        for (const [field, prop] of Object.entries(child as Record<string, Record<string, unknown>>)) {
          if (typeof prop.description !== "string" || !Array.isArray(prop.examples) || prop.examples.length === 0) undocumented.push(`${where}.${field}`);
          walk(prop, `${where}.${field}`);
        }
      }
    };
    walk(fleetSpecJsonSchema(), "");
    expect(undocumented).toEqual([]);
  });

  it("states the defaults the parser fills", () => {
    const gateway = (fleetSpecJsonSchema().properties as Record<string, { properties: Record<string, { default?: unknown }> }>).gateway!.properties;
    expect(gateway.maxBodyMiB!.default).toBe(8);
    expect(gateway.readTimeoutSeconds!.default).toBe(300);
    expect(gateway.host!.default).toBe("aws");
  });
});

describe("the schema and the parser agree", () => {
  const { spec, stack } = validator();

  it.each([...EXAMPLES, ...STARTERS])("%s is valid", (file) => {
    const doc = parseYaml(fs.readFileSync(file, "utf8").replaceAll("{{name}}", "x"));
    expect(spec(doc), JSON.stringify(spec.errors)).toBe(true);
  });

  it("Pulumi.dev.yaml is valid against the stack file schema", () => {
    expect(stack(parseYaml(fs.readFileSync("Pulumi.dev.yaml", "utf8"))), JSON.stringify(stack.errors)).toBe(true);
  });

  it("accepts any casing of a quantization, refuses what the parser refuses", () => {
    const base = parseYaml(fs.readFileSync("examples/cpu-llamacpp-fallback.yaml", "utf8")) as { models: Record<string, unknown>[] };
    const withQuant = (q: unknown) => ({ ...base, models: [{ ...base.models[0], quantization: q }, ...base.models.slice(1)] });
    for (const q of ["Q4_K_M", "q4_k_m", "Q4_k_M", "f16"]) expect(spec(withQuant(q)), q).toBe(true);
    for (const q of ["q4_k_x", "int4", 4]) expect(spec(withQuant(q)), String(q)).toBe(false);
    expect(spec({ ...base, nodes: [{ ...(base as unknown as { nodes: object[] }).nodes[0], bandwidth: 1 }] })).toBe(false);
  });

  it("every example and starter names the schema for its editor", () => {
    for (const file of EXAMPLES) {
      const first = fs.readFileSync(file, "utf8").split("\n")[0];
      expect(first, file).toBe(`# yaml-language-server: $schema=../${FLEET_SPEC_SCHEMA_FILE}`);
    }
    expect(fs.readFileSync("Pulumi.dev.yaml", "utf8").split("\n")[0]).toBe(`# yaml-language-server: $schema=${PULUMI_STACK_SCHEMA_FILE}`);
  });
});
