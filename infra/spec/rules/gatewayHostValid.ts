import type { SpecIssue } from "../errors";
import type { SpecRule } from "./rule";

/** The gateway runs on AWS or on a docker node; a docker gateway cannot reach engines inside the VPC. */
export const gatewayHostValid: SpecRule = (spec) => {
  const g = spec.gateway;
  if (!g || g.host === "aws") return [];
  const issues: SpecIssue[] = [];
  const host = spec.nodes.find((n) => n.name === g.host);
  if (!host) issues.push({ path: "gateway.host", message: `no node named "${g.host}"`, fix: 'use "aws" or the name of a docker node' });
  else if (host.provider !== "docker") issues.push({ path: "gateway.host", message: `node "${g.host}" is a ${host.provider} node`, fix: 'run the gateway on "aws" or on a docker node' });
  const awsNodes = spec.nodes.filter((n) => n.provider === "aws").map((n) => n.name);
  if (host && awsNodes.length > 0) {
    issues.push({ path: "gateway.host", message: `the engines of AWS nodes (${awsNodes.join(", ")}) are reachable only inside the fleet's VPC, not from docker node "${g.host}"`, fix: 'run the gateway on "aws" (remove gateway.host)' });
  }
  return issues;
};
