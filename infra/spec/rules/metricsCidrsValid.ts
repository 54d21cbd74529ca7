import { ipv4CidrProblem } from "../cidr";
import type { SpecRule } from "./rule";

/** gateway.metricsCidrs become the metrics listener's security group rules. */
export const metricsCidrsValid: SpecRule = (spec) =>
  (spec.gateway?.metricsCidrs ?? []).flatMap((c, i) => {
    const problem = ipv4CidrProblem(c);
    return problem ? [{ path: `gateway.metricsCidrs[${i}]`, ...problem }] : [];
  });
