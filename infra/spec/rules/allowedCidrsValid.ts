import { ipv4CidrProblem } from "../cidr";
import type { SpecRule } from "./rule";

/** gateway.allowedCidrs become the gateway's HTTPS security group rules. */
export const allowedCidrsValid: SpecRule = (spec) =>
  (spec.gateway?.allowedCidrs ?? []).flatMap((c, i) => {
    const problem = ipv4CidrProblem(c);
    return problem ? [{ path: `gateway.allowedCidrs[${i}]`, ...problem }] : [];
  });
