import type { SpecIssue } from "../errors";
import type { SpecRule } from "./rule";

const FIX = "set gateway.metering: true (quotas and request limits are counted from the usage log)";

/** Quotas, upstream request limits and the metrics listener are all fed by metering: without it they would never act. */
export const usageNeedsMetering: SpecRule = (spec) => {
  const g = spec.gateway;
  if (!g || g.metering) return [];
  const issues: SpecIssue[] = [];
  for (const [name, key] of Object.entries(g.keys)) {
    if (key.quota) issues.push({ path: `gateway.keys.${name}.quota`, message: "a quota without metering would never be enforced", fix: FIX });
  }
  spec.models.forEach((m, i) => {
    const l = m.limits;
    if (l && (l.requestsPerMinute !== undefined || l.requestsPerDay !== undefined)) {
      issues.push({ path: `models[${i}].limits`, message: "request limits without metering would never be enforced", fix: FIX });
    }
  });
  if (g.metricsCidrs.length > 0) issues.push({ path: "gateway.metricsCidrs", message: "the metrics listener exists only with metering", fix: FIX });
  return issues;
};
