/** Cross-checks of the usage fields (usage.ts): what needs metering, and well-formed metrics CIDRs. */
import type { SpecIssue } from "./errors";
import type { FleetSpec } from "./schema";

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function isIpv4Cidr(s: string): boolean {
  const m = CIDR.exec(s);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

export function validateUsage(spec: FleetSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const g = spec.gateway;
  const metering = g.metering === true;
  const needsMetering = "set gateway.metering: true (quotas and request limits are counted from the usage log)";
  for (const [name, key] of Object.entries(g.keys)) {
    if (key.quota && !metering) issues.push({ path: `gateway.keys.${name}.quota`, message: "a quota without metering would never be enforced", fix: needsMetering });
  }
  spec.models.forEach((m, i) => {
    const l = m.limits;
    if (l && (l.requestsPerMinute !== undefined || l.requestsPerDay !== undefined) && !metering) {
      issues.push({ path: `models[${i}].limits`, message: "request limits without metering would never be enforced", fix: needsMetering });
    }
  });
  (g.metricsCidrs ?? []).forEach((c, i) => {
    if (!isIpv4Cidr(c)) issues.push({ path: `gateway.metricsCidrs[${i}]`, message: `"${c}" is not an IPv4 CIDR`, fix: 'write it as address/prefix, e.g. "10.0.0.0/16" or "203.0.113.7/32"' });
  });
  if (metering && g.host && g.host !== "aws") {
    issues.push({ path: "gateway.metering", message: `the usage service runs beside nginx on the AWS gateway only; a gateway on docker node "${g.host}" would log usage nobody counts`, fix: 'run the gateway on "aws", or set metering: false' });
  }
  if (g.metricsCidrs && g.metricsCidrs.length > 0 && !metering) {
    issues.push({ path: "gateway.metricsCidrs", message: "the metrics listener exists only with metering", fix: needsMetering });
  }
  return issues;
}
