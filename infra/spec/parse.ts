/** Turns raw config (from YAML or Pulumi config) into a FleetSpec, or every problem at once. */
import type { z } from "zod";
import { FleetSpec } from "./schema";
import { FleetSpecError, specPath, type SpecIssue } from "./errors";
import { validateReferences } from "./validate";
import { validateUsage } from "./validate-usage";

export function parseFleetSpec(raw: unknown, origin = "fleet spec"): FleetSpec {
  const parsed = FleetSpec.safeParse(raw);
  if (!parsed.success) throw new FleetSpecError(parsed.error.issues.map(toSpecIssue), origin);
  const issues = [...validateReferences(parsed.data), ...validateUsage(parsed.data)];
  if (issues.length > 0) throw new FleetSpecError(issues, origin);
  return parsed.data;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function toSpecIssue(issue: z.core.$ZodIssue): SpecIssue {
  const path = specPath(issue.path);
  switch (issue.code) {
    case "invalid_type":
      return {
        path,
        message: issue.input === undefined ? `is required (${issue.expected})` : `expected ${issue.expected}, got ${describe(issue.input)}`,
        fix: issue.input === undefined ? `add "${String(issue.path.at(-1))}"` : `set it to a ${issue.expected}`,
      };
    case "unrecognized_keys":
      return {
        path,
        message: `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`,
        fix: "remove it or correct the spelling (see infra/spec/schema.ts for the fields)",
      };
    case "invalid_value":
      return {
        path,
        message: `${describe(issue.input)} is not allowed`,
        fix: `use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "invalid_union": {
      const d = issue as unknown as { discriminator?: string; options?: unknown[] };
      if (d.discriminator && d.options) {
        const parent = specPath(issue.path.slice(0, -1));
        return {
          path,
          message: `${describe(issue.input)} is not a known ${d.discriminator}`,
          fix: unionFix(parent) ?? `set ${d.discriminator} to one of ${d.options.map((o) => JSON.stringify(o)).join(", ")}`,
        };
      }
      return { path, message: "matches none of the allowed forms", fix: unionFix(path) ?? "use one of the documented forms (infra/spec/schema.ts)" };
    }
    case "too_small":
    case "too_big":
      return { path, message: issue.message, fix: "change the value to fit the bound" };
    default:
      return { path, message: issue.message, fix: "correct the value" };
  }
}

function unionFix(path: string): string | undefined {
  if (/nodes\[\d+\]$/.test(path)) return 'set provider to "aws", "ssh", "docker" (aws needs instanceType; ssh and docker need host and gpus)';
  if (/models\[\d+\]$/.test(path)) return 'set engine to "vllm", "llamacpp", "ollama" or "external"';
  if (path.endsWith("source")) return 'use { hf: "owner/repo" }, { gguf: { repo, file } } or { ollama: "tag" }';
  if (path.endsWith("arch")) return "name a catalog model (a Hugging Face repo id) or give the architecture inline";
  return undefined;
}
