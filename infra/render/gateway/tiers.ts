/**
 * Upstreams and failover chains. Each model that anything routes to gets one nginx upstream
 * (its replicas, or its external provider); each model a client may name gets a chain of named
 * locations, tier 0 = its own upstream, then its fallbacks in order. Tiers cannot be servers of
 * one upstream: all servers of an upstream get the same headers and body, while each tier has its
 * own model name and key (gateway-notes.md "Streaming and retries").
 */
import type { Engine, ServedEngine } from "../../spec/schema";
import type { GatewayFleetPlan } from "../../plan/gateway";
import type { ExternalModelPlan, ModelPlan } from "../../plan/types";
import { tierUsage, usageSettings, type TierLimits } from "../usage/gateway";
import { ENGINE_UPSTREAM } from "../engines";
import { secretEnvName } from "./env";
import type { NormalizedOptions, UpstreamTarget } from "./options";

export interface GatewayUpstream {
  /** nginx upstream block name. */
  name: string;
  modelId: string;
  engine: Engine;
  tls: boolean;
  /** TLS server name to send and verify (external providers), else null. */
  sslName: string | null;
  /** Host header value sent upstream. */
  hostHeader: string;
  /** Path prefix before /chat/completions etc.: "/v1", or the provider URL's path. */
  basePath: string;
  servers: { address: string; weight: number }[];
  /** The `model` this upstream expects in the body. */
  upstreamModel: string;
  /** Environment variable with the key for this upstream, or null to send none. */
  secretEnv: string | null;
  /** Live health probes (served engines only). */
  probes: { url: string; host: string }[];
}

export interface TierLocation {
  /** Named location, "@fleet_<model>_t<tier>": sends the body with this tier's `model` spliced in. */
  name: string;
  /** Tier 0 only: "@fleet_<model>_t0_raw", which forwards the client's bytes as they are. */
  rawName: string | null;
  /** The model the client asked for. */
  modelId: string;
  tier: number;
  upstream: GatewayUpstream;
  /** proxy_next_upstream_tries: each replica once. */
  tries: number;
  /** Its upstream's limits as its location applies them (usage/gateway.ts tierUsage): a skip check, a read timeout. */
  limits: TierLimits;
  /**
   * Served from `location /` itself, where the router ran, when the router forwards the client's
   * bytes unchanged (inPlaceTier): no internal redirect, so the reply guard runs in the router's
   * njs VM rather than a second one (issue 13's speed goal; nginx.conf.hbs `location /`).
   */
  inPlace: boolean;
}

/**
 * A tier `location /` can proxy to itself: tier 0 of a model the fleet serves (plain HTTP, the
 * fleet's engine key or none, its replicas' Host header), with no setting `location /` cannot
 * take per request: a read timeout of its own (a constant in nginx) or a provider limit counted
 * before it is sent (the skip check of its tier location). Every other tier keeps its named location.
 */
export function inPlaceTier(tier: number, upstream: GatewayUpstream, limits: TierLimits): boolean {
  return tier === 0 && upstream.engine !== "external" && !upstream.tls && limits.blockFile === null && limits.timeout === null;
}

/** The Host header nginx sends to a served engine: the engine table's, else the upstream's own. */
const engineHostHeader = (engine: ServedEngine) => ENGINE_UPSTREAM[engine].upstreamHostHeader ?? "$proxy_host";

const slug = (id: string) => id.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "").slice(0, 40);

export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Host names and IPs only: these land in nginx.conf unquoted. */
function checkHost(host: string, where: string): string {
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new Error(`${where}: "${host}" is not a host name or IP address`);
  return host;
}

function externalTarget(m: ExternalModelPlan): { planned: UpstreamTarget; basePath: string; hostHeader: string } {
  const url = new URL(m.url);
  const tls = url.protocol === "https:";
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  const basePath = url.pathname.replace(/\/+$/, "");
  if (!/^[A-Za-z0-9/._~-]*$/.test(basePath)) throw new Error(`models.${m.id}.url: path "${basePath}" has characters the gateway cannot pass through; use a plain path such as /v1`);
  return { planned: { host: url.hostname, port, tls }, basePath, hostHeader: url.host };
}

function buildUpstream(m: ModelPlan, index: number, options: NormalizedOptions): GatewayUpstream {
  const name = `fleet_${index}_${slug(m.id)}`;
  if (m.engine === "external") {
    const target = externalTarget(m);
    const r = options.resolveEndpoint(m.id, 0, target.planned);
    const tls = r.tls ?? target.planned.tls;
    return {
      name, modelId: m.id, engine: m.engine, tls,
      sslName: tls ? target.planned.host : null,
      hostHeader: target.hostHeader,
      basePath: target.basePath,
      servers: [{ address: hostPort(checkHost(r.host, `models.${m.id}`), r.port), weight: 1 }],
      upstreamModel: m.upstreamModel,
      secretEnv: m.apiKeySecret ? secretEnvName(m.apiKeySecret) : null,
      probes: [],
    };
  }
  const engine = m.engine;
  const resolved = m.replicas.map((rep, i) => {
    const r = options.resolveEndpoint(m.id, i, { host: rep.endpoint.host, port: rep.endpoint.port, tls: false });
    return { address: hostPort(checkHost(r.host, `models.${m.id}.replicas[${i}]`), r.port), weight: rep.weight };
  });
  const hostHeader = engineHostHeader(engine);
  return {
    name, modelId: m.id, engine, tls: false, sslName: null, hostHeader,
    basePath: "/v1",
    servers: resolved,
    // Served engines are launched with the model id as their served name.
    upstreamModel: m.id,
    secretEnv: options.engineKeySecret ? secretEnvName(options.engineKeySecret) : null,
    probes: resolved.map((s) => ({ url: `http://${s.address}${ENGINE_UPSTREAM[engine].healthPath}`, host: hostHeader.startsWith("$") ? s.address : hostHeader })),
  };
}

export interface GatewayRouting {
  upstreams: GatewayUpstream[];
  /** Per model id, its chain (tier 0 first). */
  chains: Map<string, TierLocation[]>;
  /** Highest tier index + 1 over all chains (one body/auth variable per tier index). */
  tierCount: number;
}

export function buildRouting(plan: GatewayFleetPlan, options: NormalizedOptions): GatewayRouting {
  const usage = usageSettings(plan, options.usage);
  const byId = new Map(plan.models.map((m) => [m.id, m]));
  const upstreams = new Map<string, GatewayUpstream>();
  const upstreamOf = (id: string): GatewayUpstream => {
    let u = upstreams.get(id);
    if (!u) {
      const m = byId.get(id);
      if (!m) throw new Error(`fallbacks: no model "${id}" in the plan`);
      u = buildUpstream(m, plan.models.indexOf(m), options);
      upstreams.set(id, u);
    }
    return u;
  };

  const chains = new Map<string, TierLocation[]>();
  let tierCount = 1;
  plan.models.forEach((m, index) => {
    const targets = [m.id, ...m.tiers].map(upstreamOf);
    tierCount = Math.max(tierCount, targets.length);
    const names = targets.map((_, k) => `@fleet_${index}_t${k}`);
    chains.set(
      m.id,
      targets.map((u, k) => {
        const limits = tierUsage(plan, u.modelId, usage);
        return {
          name: names[k]!,
          rawName: k === 0 ? `${names[k]!}_raw` : null,
          modelId: m.id,
          tier: k,
          upstream: u,
          tries: Math.max(1, u.servers.length),
          limits,
          inPlace: inPlaceTier(k, u, limits),
        };
      }),
    );
  });
  // Upstreams in plan order, so the rendered file reads like the spec.
  const ordered = plan.models.map((m) => upstreams.get(m.id)).filter((u): u is GatewayUpstream => u !== undefined);
  return { upstreams: ordered, chains, tierCount };
}
