import type { SpecRule } from "./rule";

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function isIpv4Cidr(s: string): boolean {
  const m = CIDR.exec(s);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

export const metricsCidrsValid: SpecRule = (spec) =>
  (spec.gateway?.metricsCidrs ?? []).flatMap((c, i) =>
    isIpv4Cidr(c) ? [] : [{ path: `gateway.metricsCidrs[${i}]`, message: `"${c}" is not an IPv4 CIDR`, fix: 'write it as address/prefix, e.g. "10.0.0.0/16" or "203.0.113.7/32"' }],
  );
