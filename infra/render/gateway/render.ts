/**
 * renderGateway: FleetPlan → the gateway's files under gateway/: nginx.conf, the njs router
 * (router.js, body.js, health.js, usage.js, reply.js: static, from templates/nginx/) and
 * fleet.json (the fleet's data for the router, preloaded by nginx once and shared by every
 * request: fleet-data.d.ts). Pure apart from reading its templates; key values are hashed,
 * secrets never read.
 */
import { requireGateway } from "../../plan/gateway";
import type { FleetPlan } from "../../plan/types";
import { readTemplateFile, renderTemplate, type Artifacts } from "../templates";
import { buildNginxContext } from "./nginx-context";
import { normalizeOptions, type GatewayRenderOptions } from "./options";
import { buildRouterConfig } from "./router-config";
import { buildRouting } from "./tiers";
import { renderUsageFiles } from "../usage/files";
import { usageSettings } from "../usage/gateway";

export function renderGateway(fleetPlan: FleetPlan, options: GatewayRenderOptions): Artifacts {
  const plan = requireGateway(fleetPlan, "rendering the gateway");
  const o = normalizeOptions(options);
  const routing = buildRouting(plan, o);
  const usage = usageSettings(plan, o.usage);
  const config = buildRouterConfig(plan, routing, o.clientKeys, usage?.dir ?? null);
  return {
    "gateway/nginx.conf": { contents: renderTemplate("nginx/nginx.conf.hbs", buildNginxContext(plan, routing, o)) },
    "gateway/fleet.json": { contents: `${JSON.stringify(config)}\n` },
    "gateway/router.js": { contents: readTemplateFile("nginx/router.js") },
    "gateway/health.js": { contents: readTemplateFile("nginx/health.js") },
    "gateway/usage.js": { contents: readTemplateFile("nginx/usage.js") },
    "gateway/reply.js": { contents: readTemplateFile("nginx/reply.js") },
    ...(usage ? renderUsageFiles(plan, usage) : {}),
    "gateway/body.js": { contents: readTemplateFile("nginx/body.js") },
  };
}
