/**
 * Turns raw config (from YAML or Pulumi config) into a normalized FleetSpec, or every problem at
 * once: schema (shape and static defaults), normalizeSpec (derived defaults), then the rules.
 */
import type { z } from "zod";
import { FleetSpec as FleetSpecSchema, type FleetSpec } from "./schema";
import { FleetSpecError, specPath, type SpecIssue } from "./errors";
import { normalizeSpec } from "./normalize";
import { closest } from "./suggest";
import { validateReferences } from "./validate";

export function parseFleetSpec(raw: unknown, origin = "fleet spec"): FleetSpec {
  const issues = specIssues(raw);
  if ("issues" in issues) throw new FleetSpecError(issues.issues, origin);
  return issues.spec;
}

/** The spec, or its problems as data (for callers that merge them with their own). */
export function specIssues(raw: unknown): { spec: FleetSpec } | { issues: SpecIssue[] } {
  const parsed = FleetSpecSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { issues: parsed.error.issues.map(toSpecIssue) };
  const spec = normalizeSpec(parsed.data);
  const issues = validateReferences(spec);
  return issues.length > 0 ? { issues } : { spec };
}

/** The value as the message shows it: the user must recognise what they wrote. */
function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

const didYouMean = (got: unknown, allowed: readonly unknown[]) => {
  const near = closest(got, allowed);
  return near === undefined ? "" : `; did you mean ${JSON.stringify(near)}?`;
};

function toSpecIssue(issue: z.core.$ZodIssue): SpecIssue {
  const path = specPath(issue.path);
  const got = shown(issue.input);
  switch (issue.code) {
    case "invalid_type":
      return {
        path,
        message: issue.input === undefined ? `is required (${issue.expected})` : `expected ${issue.expected}, got ${got}`,
        fix: issue.input === undefined ? `add "${String(issue.path.at(-1))}"` : `set it to ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`,
      };
    case "unrecognized_keys":
      return {
        path,
        message: `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`,
        fix: "remove it or correct the spelling (the fields are listed in schema/fleet-spec.schema.json)",
      };
    case "invalid_value":
      return {
        path,
        message: `${got} is not allowed${didYouMean(issue.input, issue.values)}`,
        fix: `use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "invalid_union": {
      const d = issue as unknown as { discriminator?: string; options?: unknown[] };
      if (d.discriminator && d.options) {
        const parent = specPath(issue.path.slice(0, -1));
        // zod reports the whole object; the user wrote the one field.
        const value = issue.input && typeof issue.input === "object" ? (issue.input as Record<string, unknown>)[d.discriminator] : issue.input;
        return {
          path,
          message: `${shown(value)} is not a known ${d.discriminator}${didYouMean(value, d.options)}`,
          fix: unionFix(parent) ?? `set ${d.discriminator} to one of ${d.options.map((o) => JSON.stringify(o)).join(", ")}`,
        };
      }
      return { path, message: `${got} matches none of the allowed forms`, fix: unionFix(path) ?? "use one of the documented forms (schema/fleet-spec.schema.json)" };
    }
    case "too_small":
    case "too_big": {
      // Said from the issue's bound, not by editing zod's English message.
      const small = issue.code === "too_small";
      const bound = small ? issue.minimum : issue.maximum;
      const side = issue.exact ? "exactly" : small ? (issue.inclusive ? "at least" : "more than") : issue.inclusive ? "at most" : "less than";
      const unit = issue.origin === "array" || issue.origin === "set" ? ` item${bound === 1 ? "" : "s"}` : issue.origin === "string" ? ` character${bound === 1 ? "" : "s"}` : "";
      const measure = unit === "" ? "must be" : "must have";
      return { path, message: `${got}: ${measure} ${side} ${bound}${unit}`, fix: "change the value to fit the bound" };
    }
    case "invalid_key": {
      // A map key (a client key, rate class, route …) that fails its field: the field's own message is the advice.
      const inner = issue.issues[0];
      return { path, message: `the name ${JSON.stringify(issue.input)} is not allowed here`, fix: inner?.message ?? "correct the name" };
    }
    case "custom":
      // A refinement's message is written for the user already (e.g. "a quota needs at least one of …").
      return { path, message: issue.message, fix: "correct the value" };
    default:
      return { path, message: `${got}: ${issue.message}`, fix: "correct the value" };
  }
}

function unionFix(path: string): string | undefined {
  if (/nodes\[\d+\]$/.test(path)) return 'set provider to "aws", "ssh", "docker" (aws needs instanceType; ssh and docker need host and gpus)';
  if (/models\[\d+\]$/.test(path)) return 'set engine to "vllm", "llamacpp", "ollama" or "external"';
  if (path.endsWith("source")) return 'use { hf: "owner/repo" }, { gguf: { repo, file } } or { ollama: "tag" }';
  if (path.endsWith("arch")) return "name a catalog model (a Hugging Face repo id) or give the architecture inline";
  return undefined;
}
