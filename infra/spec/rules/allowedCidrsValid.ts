import { ipv4CidrProblem } from "../cidr";
import type { SpecRule } from "./rule";

/** gateway.allowedCidrs become the AWS gateway's HTTPS security group rules (a docker-hosted gateway has none). */
export const allowedCidrsValid: SpecRule = (spec) => {
  if (!spec.gateway) return [];
  const { allowedCidrs: cidrs, host } = spec.gateway;
  // Unset means anyone (the schema's default); an empty list would be a gateway no one can reach.
  // A docker-hosted gateway publishes its port on the node; nothing applies the list there.
  if (host !== "aws" && !(cidrs.length === 1 && cidrs[0] === "0.0.0.0/0")) {
    return [{ path: "gateway.allowedCidrs", message: `applies only to a gateway on AWS (its security group); the gateway on docker node "${host}" answers anyone who reaches its port`, fix: "remove allowedCidrs and limit the port with the node's firewall, or run the gateway on aws" }];
  }
  if (cidrs.length === 0) {
    return [{ path: "gateway.allowedCidrs", message: "is empty: the gateway's security group would let no one reach it", fix: 'list the CIDRs that may call the gateway (e.g. ["203.0.113.0/24"]), or remove allowedCidrs to let anyone with a key in' }];
  }
  return cidrs.flatMap((c, i) => {
    const problem = ipv4CidrProblem(c);
    return problem ? [{ path: `gateway.allowedCidrs[${i}]`, ...problem }] : [];
  });
};
