import type { SpecIssue } from "../errors";
import { modelIds, oneOf, type SpecRule } from "./rule";

/** Paths the gateway answers itself (the OpenAI API and its health checks). */
const GATEWAY_PATHS = ["/v1", "/health", "/healthz"];

export const gatewayRoutesValid: SpecRule = (spec) => {
  const ids = modelIds(spec);
  const issues: SpecIssue[] = [];
  for (const [route, target] of Object.entries(spec.gateway?.routes ?? {})) {
    const path = `gateway.routes["${route}"]`;
    if (!ids.has(target)) issues.push({ path, message: `no model "${target}"`, fix: `use one of: ${oneOf(ids)}` });
    if (GATEWAY_PATHS.some((p) => route === p || route.startsWith(`${p}/`))) {
      issues.push({ path, message: "collides with a gateway endpoint", fix: "choose a path outside /v1, /health and /healthz" });
    }
  }
  return issues;
};
