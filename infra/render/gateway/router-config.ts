/**
 * The data the njs router reads (rendered as gateway/fleet.json): keys by SHA-256 digest, models
 * with their names, limits, first tier and health probes, and path routes. Keys are hashed here
 * and nowhere else; a key value never leaves this function.
 */
import { createHash } from "node:crypto";
import type { GatewayFleetPlan } from "../../plan/gateway";
import { FleetSpecError, type SpecIssue } from "../../spec/errors";
import type { GatewayRouting, GatewayUpstream } from "./tiers";
import type { RouterTier } from "./router-types";
import { keyBlockPath, usageRouterConfig } from "../usage/gateway";

export type { RouterConfig, RouterKey, RouterModel, RouterTier } from "./router-types";
import type { RouterConfig, RouterKey, RouterModel } from "./router-types";

export const sha256Hex = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");

/** Keys shorter than this are refused: they would be guessable. */
export const MIN_KEY_LENGTH = 16;

const KEY_FIX = `give every key its own value of at least ${MIN_KEY_LENGTH} characters without spaces (e.g. openssl rand -hex 24)`;

/** The gateway's rules for client key values, as data: every key of the spec has a value that is
 * long enough, no two share one, and no value is given for a key the spec lacks. */
export function clientKeyIssues(plan: GatewayFleetPlan, clientKeys: Record<string, unknown>): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Map<string, string>();
  for (const name of Object.keys(plan.gateway.keys)) {
    const path = `gateway.keys.${name}`;
    // Own members only: a key may be named "constructor" (a name the spec allows), which every object inherits.
    const value = Object.hasOwn(clientKeys, name) ? clientKeys[name] : undefined;
    if (value === undefined) {
      issues.push({ path, message: "no key value given", fix: KEY_FIX });
    } else if (typeof value !== "string") {
      // Pulumi config is JSON: a number or object gets here; hashing it would throw an error quoting it.
      issues.push({ path, message: "the key must be a string (a number, object or list was given)", fix: KEY_FIX });
    } else if (value.length < MIN_KEY_LENGTH || /\s/.test(value)) {
      issues.push({ path, message: `the key must be at least ${MIN_KEY_LENGTH} characters without spaces`, fix: KEY_FIX });
    } else if (/[^\x21-\x7e]/.test(value)) {
      // The router hashes the header's bytes; clients encode other characters differently (curl
      // sends UTF-8, Node's fetch and Python's http.client Latin-1), so such a key works for some only.
      issues.push({ path, message: "the key must be printable ASCII (letters, digits, punctuation)", fix: KEY_FIX });
    } else {
      const digest = sha256Hex(value);
      const other = seen.get(digest);
      if (other) issues.push({ path, message: `has the same value as key "${other}"; every key needs its own value`, fix: KEY_FIX });
      else seen.set(digest, name);
    }
  }
  for (const name of Object.keys(clientKeys)) {
    if (!Object.hasOwn(plan.gateway.keys, name)) issues.push({ path: `clientKeys.${name}`, message: `client key "${name}" is not in gateway.keys`, fix: `drop that value, or add "${name}" under gateway.keys` });
  }
  return issues;
}

/**
 * The $fleet_client value of a known key: "k:<rateClass>:<key name>". nginx.conf's maps pick the
 * rate class from it ("~^k:<class>:") and its key name for the logs; router.js's authenticate
 * reads the name back after the second colon (a class name has none: the spec's name pattern).
 */
export const clientIdOf = (name: string, rateClass: string) => `k:${rateClass}:${name}`;

/**
 * Each key's caller id by digest, and each key's rights; throws a FleetSpecError listing clientKeyIssues.
 * `usageDir`: the usage directory nginx.conf's quota probes use, null without metering. Required: a
 * forgotten one gave every key quotaBlock null, and no quota was enforced.
 */
export function hashClientKeys(plan: GatewayFleetPlan, clientKeys: Record<string, string>, usageDir: string | null): Pick<RouterConfig, "clients" | "keyRights"> {
  const issues = clientKeyIssues(plan, clientKeys);
  if (issues.length > 0) throw new FleetSpecError(issues, "gateway keys");
  const clients: Record<string, string> = {};
  const keyRights: Record<string, RouterKey> = {};
  for (const [name, spec] of Object.entries(plan.gateway.keys)) {
    clients[sha256Hex(clientKeys[name]!)] = clientIdOf(name, spec.rateClass);
    keyRights[name] = { name, rateClass: spec.rateClass, models: spec.models.includes("*") ? "*" : [...spec.models], quotaBlock: keyBlockPath(usageDir, name, spec.quota !== undefined), admin: spec.admin === true };
  }
  return { clients, keyRights };
}

/** What `location /` sets to proxy a tier in place; `$proxy_host` is the upstream's name there. */
function inPlaceTarget(u: GatewayUpstream): NonNullable<RouterTier["inPlace"]> {
  return { url: `http://${u.name}${u.basePath}`, host: u.hostHeader === "$proxy_host" ? u.name : u.hostHeader, secret: u.secretEnv ?? "" };
}

export function buildRouterConfig(plan: GatewayFleetPlan, routing: GatewayRouting, clientKeys: Record<string, string>, usageDir: string | null): RouterConfig {
  const models: Record<string, RouterModel> = {};
  const names: Record<string, string> = {};
  for (const m of plan.models) {
    const chain = routing.chains.get(m.id)!;
    models[m.id] = {
      engine: m.engine,
      aliases: [...m.aliases],
      maxOutputTokens: m.maxOutputTokens,
      contextLength: m.contextLength,
      chain: chain.map((t) => ({
        tier: t.tier,
        model: t.upstream.modelId,
        anyKey: t.tier > 0 && m.anyKeyTiers.includes(t.upstream.modelId),
        location: t.name,
        rawLocation: t.rawName,
        upstreamModel: t.upstream.upstreamModel,
        external: t.upstream.engine === "external",
        inPlace: t.inPlace ? inPlaceTarget(t.upstream) : null,
      })),
      tiers: [...m.tiers],
      probes: chain[0]!.upstream.probes,
    };
    names[m.id] = m.id;
    for (const a of m.aliases) names[a] = m.id;
  }
  return {
    ...hashClientKeys(plan, clientKeys, usageDir),
    models,
    names,
    routes: { ...plan.gateway.routes },
    order: plan.models.map((m) => m.id),
    usage: usageRouterConfig(usageDir),
  };
}
