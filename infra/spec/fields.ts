/**
 * Field builders the FleetSpec schema shares: names, ids, secret names, and enums that accept the
 * spellings users already write (q4_k_m for Q4_K_M). Documentation goes on each field with `doc`,
 * which the JSON Schema (infra/spec/json-schema.ts) and editors show.
 */
import { z } from "zod";

/** Description and one example of a field: what an editor shows on hover and completes. */
export function doc<T extends z.ZodType>(schema: T, description: string, example: unknown): T {
  return schema.meta({ description, examples: [example] });
}

/** DNS-label names: they become host names, file names, systemd units and Pulumi resource names. */
export const name = z
  .string()
  .regex(/^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$/, "use up to 42 lower-case letters, digits and dashes, starting with a letter (e.g. \"gpu-a\")");

/** The name clients send in `model`; also used in URLs and the registry. */
export const modelId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "use letters, digits and . _ : / - (e.g. \"qwen3-32b\")");

export const secretName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, "use lower-case letters, digits and dashes (it becomes LLM_FLEET_SECRET_<NAME> and a Secrets Manager entry)");

export const positiveInt = z.number().int().positive();

/** Every case-insensitive enum of the schema, so the JSON Schema can say what they accept. */
export const CASE_INSENSITIVE_ENUMS = new Map<unknown, { values: readonly string[]; aliases: Readonly<Record<string, string>> }>();

/**
 * An enum matched without regard to case, plus a few aliases (llama.cpp's "f16" for fp16): the
 * value is turned into its canonical spelling here, once, and nothing downstream sees another.
 * A value that matches nothing fails as a plain enum does (with the closest value, parse.ts).
 */
export function caseInsensitiveEnum<const V extends readonly [string, ...string[]]>(values: V, aliases: Readonly<Record<string, V[number]>> = {}) {
  const byLower = new Map<string, V[number]>(values.map((v) => [v.toLowerCase(), v]));
  for (const [alias, target] of Object.entries(aliases)) byLower.set(alias.toLowerCase(), target);
  const schema = z.preprocess((v) => (typeof v === "string" ? (byLower.get(v.toLowerCase()) ?? v) : v), z.enum(values));
  CASE_INSENSITIVE_ENUMS.set(schema, { values, aliases });
  return schema;
}

/** A regular expression matching any casing of `words` (JSON Schema patterns have no i flag). */
export function caseInsensitivePattern(words: readonly string[]): string {
  const escape = (c: string) => (/[.*+?^${}()|[\]\\/-]/.test(c) ? `\\${c}` : c);
  const word = (w: string) => [...w].map((c) => (c.toLowerCase() !== c.toUpperCase() ? `[${c.toLowerCase()}${c.toUpperCase()}]` : escape(c))).join("");
  return `^(${words.map(word).join("|")})$`;
}
