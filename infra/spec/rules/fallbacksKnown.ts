import type { SpecIssue } from "../errors";
import { fallbackModel, MAX_TIERS } from "../schema";
import { modelIds, oneOf, type SpecRule } from "./rule";

export const fallbacksKnown: SpecRule = (spec) => {
  const ids = modelIds(spec);
  const issues: SpecIssue[] = [];
  for (const [id, entries] of Object.entries(spec.fallbacks)) {
    const tiers = entries.map(fallbackModel);
    if (!ids.has(id)) issues.push({ path: `fallbacks.${id}`, message: `no model "${id}"`, fix: `use one of: ${oneOf(ids)}` });
    tiers.forEach((t, k) => {
      if (t === id) issues.push({ path: `fallbacks.${id}[${k}]`, message: "a model cannot be its own fallback", fix: "name another model" });
      else if (!ids.has(t)) issues.push({ path: `fallbacks.${id}[${k}]`, message: `no model "${t}"`, fix: `use one of: ${oneOf(ids)}` });
    });
    if (new Set(tiers).size !== tiers.length) issues.push({ path: `fallbacks.${id}`, message: "a tier is listed twice", fix: "list each fallback model once" });
    if (1 + tiers.length > MAX_TIERS) {
      issues.push({
        path: `fallbacks.${id}`,
        message: `${id} has ${1 + tiers.length} tiers (itself and ${tiers.length} fallbacks); the gateway tries at most ${MAX_TIERS} per request (nginx follows at most 10 internal redirects)`,
        fix: `keep at most ${MAX_TIERS - 1} fallbacks for ${id}`,
      });
    }
  }
  return issues;
};
