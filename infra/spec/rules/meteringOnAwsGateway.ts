import type { SpecRule } from "./rule";

/** The usage service runs beside nginx on the AWS gateway host only (infra/cloud/gatewayHost.ts). */
export const meteringOnAwsGateway: SpecRule = (spec) => {
  const g = spec.gateway;
  if (!g?.metering || g.host === "aws") return [];
  return [{ path: "gateway.metering", message: `the usage service runs beside nginx on the AWS gateway only; a gateway on docker node "${g.host}" would log usage nobody counts`, fix: 'run the gateway on "aws", or set metering: false' }];
};
