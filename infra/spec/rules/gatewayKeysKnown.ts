import type { SpecIssue } from "../errors";
import { modelIds, oneOf, type SpecRule } from "./rule";

/** A key may name only models and a rate class the spec defines. */
export const gatewayKeysKnown: SpecRule = (spec) => {
  const g = spec.gateway;
  if (!g) return [];
  const ids = modelIds(spec);
  const issues: SpecIssue[] = [];
  for (const [keyName, key] of Object.entries(g.keys)) {
    key.models.forEach((mid, k) => {
      if (mid !== "*" && !ids.has(mid)) issues.push({ path: `gateway.keys.${keyName}.models[${k}]`, message: `no model "${mid}"`, fix: `use "*" or one of: ${oneOf(ids)}` });
    });
    // Own members only: "toString" or "constructor" is on every object, and would pass as a class with no limits.
    if (!Object.hasOwn(g.rateClasses, key.rateClass)) {
      issues.push({ path: `gateway.keys.${keyName}.rateClass`, message: `no rate class "${key.rateClass}"`, fix: `define it under gateway.rateClasses or use one of: ${oneOf(Object.keys(g.rateClasses))}` });
    }
  }
  return issues;
};
