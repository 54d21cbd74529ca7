import { ipv4CidrProblem } from "../cidr";
import type { SpecRule } from "./rule";

/** gateway.allowedCidrs become the gateway's HTTPS security group rules. */
export const allowedCidrsValid: SpecRule = (spec) => {
  const cidrs = spec.gateway?.allowedCidrs;
  if (cidrs === undefined) return [];
  // Unset means anyone (the schema's default); an empty list would be a gateway no one can reach.
  if (cidrs.length === 0) {
    return [{ path: "gateway.allowedCidrs", message: "is empty: the gateway's security group would let no one reach it", fix: 'list the CIDRs that may call the gateway (e.g. ["203.0.113.0/24"]), or remove allowedCidrs to let anyone with a key in' }];
  }
  return cidrs.flatMap((c, i) => {
    const problem = ipv4CidrProblem(c);
    return problem ? [{ path: `gateway.allowedCidrs[${i}]`, ...problem }] : [];
  });
};
