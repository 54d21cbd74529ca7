/**
 * The context of templates/nginx/nginx.conf.hbs: every value already computed and quoted, so the
 * template is layout only. Limits, CORS, static error bodies and tier locations are decided here.
 */
import type { GatewayFleetPlan } from "../../plan/gateway";
import { NJS_MODULE_PATH, type NormalizedOptions } from "./options";
import { hostPort, type GatewayRouting } from "./tiers";
import { keyBlockPath, usageNginxContext, usageSettings } from "../usage/gateway";
import { clientIdOf } from "./router-config";

/** Connecting to a replica is quick or it is down; fail fast so the next replica or tier answers. */
const CONNECT_TIMEOUT_SECONDS = 3;

const underscore = (name: string) => name.replace(/-/g, "_");

/**
 * The hash bucket size that holds the longest of `names` (map keys, variable names): nginx stores
 * each as a pointer and its length + 2 rounded up to a pointer, and ends a bucket with a pointer
 * (nginx src/core/ngx_hash.h NGX_HASH_ELT_SIZE, ngx_hash.c ngx_hash_init: "could not build
 * map_hash, you should increase map_hash_bucket_size"). The default is one cache line, 64 bytes,
 * which held no CORS origin over 46 characters, no key name over 40 with a quota and no rate class
 * name over 40. A power of two from 64 (nginx rounds a size up to a cache line anyway).
 */
function hashBucketSize(names: readonly string[]): number {
  const longest = Math.max(0, ...names.map((n) => Buffer.byteLength(n)));
  const pointer = 8;
  const need = pointer + Math.ceil((longest + 2) / pointer) * pointer + pointer;
  let size = 64;
  while (size < need) size *= 2;
  return size;
}

/**
 * nginx open source re-resolves an upstream server's name at run time only with `resolve`, added
 * in 1.27.3 (nginx CHANGES 1.27.3; the upstream must sit in a shared memory `zone` and a
 * `resolver` must be set, else nginx refuses to start). The official image is pinned above that
 * (test/infra/gateway-host.test.ts checks); Debian's nginx (1.22 here) rejects the parameter, so
 * only the official-image flavor gets it. Without it nginx keeps the address a name had at start,
 * and a replaced node's new address is never used.
 */
export const RESOLVE_MIN_NGINX = "1.27.3";

/** "host:port" names a host to resolve; "1.2.3.4:port" and "[v6]:port" are addresses. */
function namesHost(address: string): boolean {
  if (address.startsWith("[")) return false;
  return !/^\d{1,3}(\.\d{1,3}){3}$/.test(address.slice(0, address.lastIndexOf(":")));
}

/** Upstream servers as the template writes them: names get `resolve` where the nginx build has it. */
function upstreamServers(routing: GatewayRouting, o: NormalizedOptions) {
  const upstreams = routing.upstreams.map((u) => ({
    name: u.name,
    modelId: u.modelId,
    servers: u.servers.map((s) => ({ ...s, resolve: o.nginx === "official-image" && namesHost(s.address) })),
    keepalive: 32,
  }));
  if (o.resolver.length === 0 && upstreams.some((u) => u.servers.some((s) => s.resolve))) {
    throw new Error("gateway: the official-image flavor resolves upstream host names at run time and needs a resolver (GatewayRenderOptions.resolver)");
  }
  return upstreams;
}

/** An error answered by nginx itself (no njs): `return <status> '<body>'` in an internal location. */
interface StaticError {
  /** Statuses nginx produces that end here (494-497 are nginx's own 400s). */
  from: number[];
  status: number;
  /** Internal URI; error_page redirects by URI, never to a named location: a request whose line
   * did not parse has no URI, and a redirect to a named location then fails in a loop (issue 13 item 10). */
  location: string;
  body: string;
}

function errorBody(type: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { message, type, code } });
  // The body sits in a single-quoted nginx string where "$name" is a variable and a backslash
  // escapes: none may appear.
  if (/['$\\]/.test(body)) throw new Error(`error body not safe for nginx: ${body}`);
  return body;
}

/** Every status nginx may answer by itself, each with an OpenAI-style body. */
function staticErrors(maxBodyMiB: number): StaticError[] {
  const e = (from: number[], status: number, type: string, code: string, message: string): StaticError => ({
    from,
    status,
    location: `/_fleet_error/${status}`,
    body: errorBody(type, code, message),
  });
  return [
    e([400, 494, 495, 496, 497], 400, "invalid_request_error", "bad_request", "the HTTP request is malformed"),
    // A path of nginx.conf's own internal locations (/_fleet_body, /_fleet_error/...) asked for by a client.
    e([404], 404, "not_found_error", "unknown_endpoint", "no such path; the gateway serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models and /health"),
    e([405], 405, "invalid_request_error", "method_not_allowed", "the gateway serves GET, POST and OPTIONS"),
    e([408], 408, "invalid_request_error", "request_timeout", "the request was not received in time"),
    e([411], 411, "invalid_request_error", "length_required", "send the body with a Content-Length"),
    e([413], 413, "invalid_request_error", "request_too_large", `the request body is larger than ${maxBodyMiB} MiB`),
    e([414], 414, "invalid_request_error", "uri_too_long", "the request URI is too long"),
    e([429], 429, "rate_limit_error", "rate_limit_exceeded", "too many requests for this key or address; retry after the Retry-After seconds"),
    e([500], 500, "server_error", "gateway_error", "the gateway failed to handle the request"),
    e([501], 501, "invalid_request_error", "not_implemented", "the request uses an HTTP feature the gateway does not implement"),
    e([502], 502, "server_error", "upstream_unavailable", "no upstream could be reached"),
    e([503], 503, "server_error", "upstream_unavailable", "no upstream could answer"),
    e([504], 504, "timeout_error", "upstream_timeout", "the upstream did not answer in time"),
    e([505], 505, "invalid_request_error", "http_version_not_supported", "use HTTP/1.1"),
  ];
}

/** The chain's last answers (named locations, reached only with a parsed URI): they name the model. */
function finalErrors() {
  const body = (type: string, code: string, message: string) => {
    const text = JSON.stringify({ error: { message, type, code } });
    if (text.includes("'") || /\$(?!fleet_model\b)/.test(text)) throw new Error(`error body not safe for nginx: ${text}`);
    return text;
  };
  return [
    { name: "@fleet_503", status: 503, body: body("server_error", "upstream_unavailable", "model $fleet_model: every tier failed before answering") },
    { name: "@fleet_504", status: 504, body: body("timeout_error", "upstream_timeout", "model $fleet_model: the upstream did not answer in time") },
  ];
}

/**
 * Upstream statuses after which a tier's request goes to the next tier, if nothing has reached the
 * client (504, its timeout, has its own target). An upstream 401/403 means the gateway's key for
 * it is wrong, a 404 that its endpoint or model is missing (Ollama before its pull, a provider's
 * HTML page): never the client's fault. Every other 5xx too: 529 is Anthropic's
 * "overloaded_error", 520-527/530 Cloudflare's in front of a provider, 501/505/507 an engine's;
 * unlisted, they reached the client as they came, with no failover.
 */
const FAILOVER_STATUSES = [401, 403, 404, 429, 500, 501, 502, 503, 505, 506, 507, 508, 510, 511, 520, 521, 522, 523, 524, 525, 526, 527, 529, 530];

/**
 * What the internal listener answers (nginx.conf.hbs "in place"): `location /` sends it what the
 * router answers itself, and its error_page hands this status to the router's own location. An
 * engine answering it when proxied in place fails over like any 5xx.
 */
const ROUTER_HOP_STATUS = 599;

/** nginx's upstream variables the logs write, each through a map that drops the internal listener's turn ($fleet_<name>). */
const UPSTREAM_LOG_FIELDS = ["upstream_addr", "upstream_status", "upstream_connect_time", "upstream_header_time", "upstream_response_time"];

/**
 * `location /`'s error_page targets, by whether the router proxied in place ($fleet_placed). A
 * location with error_page of its own inherits none of the server's, and with
 * proxy_intercept_errors every listed status is taken from the upstream too. So: nginx's own
 * errors before the router ran (a limit's 429, a body too large) get their JSON answer as at the
 * server level; the internal listener's status goes to @fleet_router; an upstream's failover status
 * to the next tier; and an engine's 400, 405, 411, 413 or 414 (statuses nginx has a page of
 * its own for, which a tier location passes as the engine sent them) is asked again from tier 0's
 * raw location, where it passes through. One map per status with a page: `error_page … = <target>`
 * resets $status before the target is computed (ngx_http_send_error_page), so no map can read it.
 */
function inPlaceErrors(statics: StaticError[]) {
  // Not 408: nginx closes the connection on its own 408 and on an error_page'd one alike
  // (ngx_http_finalize_request), so an engine's 408 must not be taken; unlisted, it passes.
  const byStatus = statics.filter((e) => e.status !== 408).map((e) => {
    const placed = e.status === 504 ? "$fleet_timeout_0" : FAILOVER_STATUSES.includes(e.status) ? "$fleet_fail_0" : "$fleet_replay";
    return { status: e.status, placed, page: e.location };
  });
  const paged = new Set(byStatus.map((e) => e.status));
  return {
    byStatus,
    failoverOnly: FAILOVER_STATUSES.filter((s) => !paged.has(s)).join(" "),
  };
}

/**
 * The request headers every upstream gets besides Host and its own Authorization, in `location /`
 * and in every tier location alike: nothing else of the client's (OpenAI-Organization, Cookie, ...)
 * reaches an engine or a provider next to the fleet's key (issue 13 item 3).
 */
const FORWARDED_HEADERS = [
  { name: "Content-Type", value: "application/json" },
  { name: "Accept", value: "$http_accept" },
  { name: "X-Request-Id", value: "$request_id" },
  { name: "Connection", value: '""' },
];

/**
 * Response headers of engines and providers that never reach the client: cookies, the provider
 * account's organization and project, its rate-limit counters and request ids, CDN and proxy
 * internals (issue 13 item 3). nginx already hides Date, Server and X-Accel-*.
 */
const HIDDEN_RESPONSE_HEADERS = [
  "Set-Cookie", "X-Request-Id", "Request-Id", "Via", "Alt-Svc", "Strict-Transport-Security",
  "OpenAI-Organization", "OpenAI-Project", "OpenAI-Processing-Ms", "OpenAI-Version", "OpenAI-Model",
  "X-RateLimit-Limit-Requests", "X-RateLimit-Limit-Tokens", "X-RateLimit-Remaining-Requests",
  "X-RateLimit-Remaining-Tokens", "X-RateLimit-Reset-Requests", "X-RateLimit-Reset-Tokens",
  "Anthropic-Organization-Id", "CF-Ray", "CF-Cache-Status", "X-Envoy-Upstream-Service-Time",
];

/** The router socket's path lands in nginx.conf unquoted. */
function checkSocketPath(p: string): string {
  if (!/^[A-Za-z0-9._\/-]+$/.test(p)) throw new Error(`gateway paths.routerSocket: "${p}" may hold only letters, digits and . _ / -`);
  return p;
}

function checkOrigin(origin: string): string {
  if (origin === "*" || /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin)) return origin;
  throw new Error(`gateway.corsOrigins: "${origin}" is not an origin; use scheme://host[:port] such as https://app.example.com, or "*"`);
}

function cors(origins: string[]) {
  if (origins.length === 0) return null;
  const checked = origins.map(checkOrigin);
  return { origins: checked.filter((o) => o !== "*"), any: checked.includes("*") };
}

export function buildNginxContext(plan: GatewayFleetPlan, routing: GatewayRouting, o: NormalizedOptions) {
  const g = plan.gateway;
  const { maxBodyMiB, readTimeoutSeconds } = g;
  const ipRetryAfter = Math.ceil(60 / g.perIp.requestsPerMinute);

  const rateClasses = Object.entries(g.rateClasses).map(([name, rc]) => ({
    name,
    id: underscore(name),
    // The variable its limit zones are keyed by (empty for callers of other classes).
    variable: `fleet_rl_${underscore(name)}`,
    rate: `${rc.requestsPerMinute}r/m`,
    burst: rc.burst,
    concurrency: rc.concurrency,
    // A slot frees every 60/rpm seconds; the per-IP limit may be the one that refused.
    retryAfterSeconds: Math.max(Math.ceil(60 / rc.requestsPerMinute), ipRetryAfter),
  }));

  const usage = usageSettings(plan, o.usage);
  const statics = staticErrors(maxBodyMiB);
  // Per key with a quota, the block file location /'s try_files tests first (router-config.ts
  // gives the router the same path): its caller id ($fleet_client) and the path.
  const quotaProbes = Object.entries(g.keys).flatMap(([name, k]) => {
    const path = keyBlockPath(usage?.dir ?? null, name, k.quota !== undefined);
    return path === null ? [] : [{ client: clientIdOf(name, k.rateClass), path }];
  });
  const tierLocations = [...routing.chains.values()].flat().map((t) => ({
    ...t.limits,
    variants: [{ name: t.name, raw: false }, ...(t.rawName ? [{ name: t.rawName, raw: true }] : [])],
    comment: `${t.modelId} tier ${t.tier}: ${t.tier === 0 ? (t.upstream.engine === "external" ? "its provider" : "its own replicas") : `model ${t.upstream.modelId}`}${t.upstream.engine === "external" ? " (external)" : ""}`,
    tier: t.tier,
    servedModelId: t.upstream.modelId,
    upstreamModel: JSON.stringify(t.upstream.upstreamModel),
    secretEnv: t.upstream.secretEnv ?? "",
    external: t.upstream.engine === "external" ? "1" : "",
    // Error bodies are checked (router.checkErrorReply + replyBody) where a provider or a proxy in
    // front of it may answer in HTML, and with metering (replyBody runs its usage filter); the
    // fleet's own engines answer errors in JSON, and a body filter on every reply costs ~18 µs of
    // worker CPU a request (bench:gateway).
    checksErrorBody: usage !== null || t.upstream.engine === "external",
    pass: `${t.upstream.tls ? "https" : "http"}://${t.upstream.name}${t.upstream.basePath}$fleet_endpoint`,
    hostHeader: t.upstream.hostHeader,
    tls: t.upstream.tls ? { name: t.upstream.sslName!, trustedCertificate: o.trustedCertificate } : null,
    tries: t.tries,
  }));
  for (const t of tierLocations) {
    if (/["\\$]/.test(t.upstreamModel.slice(1, -1))) throw new Error(`${t.comment}: the upstream model name may not contain quotes, backslashes or $`);
  }
  const corsContext = cors(g.corsOrigins);

  const listen = o.listen;
  return {
    fleetName: plan.name,
    loadModule: NJS_MODULE_PATH[o.nginx],
    user: o.user,
    workerProcesses: String(o.workerProcesses),
    workerConnections: o.workerConnections,
    workerFiles: 2 * o.workerConnections,
    paths: o.paths,
    secretEnv: [...new Set(routing.upstreams.map((u) => u.secretEnv).filter((e): e is string => e !== null))].sort(),
    listen: { address: hostPort(listen.address, listen.port), tls: listen.tls ?? null },
    maxBody: `${Math.ceil(maxBodyMiB * 1024)}k`,
    readTimeout: `${readTimeoutSeconds}s`,
    connectTimeout: `${CONNECT_TIMEOUT_SECONDS}s`,
    probeTimeout: `${o.probeTimeoutSeconds}s`,
    resolver: o.resolver.length > 0 ? o.resolver.join(" ") : null,
    perIp: { rate: `${g.perIp.requestsPerMinute}r/m`, burst: g.perIp.burst, retryAfterSeconds: ipRetryAfter },
    rateClasses,
    cors: corsContext,
    // The names of spec-given length in nginx's hashes: the quota probes' caller ids and the CORS
    // origins (exact map keys), each rate class's limit variable.
    hashBucketSize: {
      map: hashBucketSize([...quotaProbes.map((p) => p.client), ...(corsContext?.origins ?? [])]),
      variables: hashBucketSize(rateClasses.map((rc) => rc.variable)),
    },
    tierIndexes: Array.from({ length: routing.tierCount }, (_, k) => k),
    upstreams: upstreamServers(routing, o),
    maxFails: o.passiveHealth.maxFails,
    failTimeout: `${o.passiveHealth.failTimeoutSeconds}s`,
    tierLocations,
    usage: usageNginxContext(usage),
    quotaProbes,
    // Entries of location /'s open file cache: "/.", the no-key path, the no-quota path and each probe.
    openFileCacheMax: 8 + quotaProbes.length,
    staticErrors: statics.map((e) => ({ ...e, from: e.from.join(" ") })),
    failoverStatuses: FAILOVER_STATUSES.join(" "),
    inPlace: {
      ...inPlaceErrors(statics),
      socket: checkSocketPath(o.paths.routerSocket),
      socketPattern: o.paths.routerSocket.replace(/\./g, "\\."),
      hopStatus: ROUTER_HOP_STATUS,
      logFields: UPSTREAM_LOG_FIELDS,
    },
    finalErrors: finalErrors(),
    hiddenResponseHeaders: HIDDEN_RESPONSE_HEADERS,
    forwardedHeaders: FORWARDED_HEADERS,
    unauthorizedError: errorBody("authentication_error", "invalid_api_key", "missing or unknown API key: send the header Authorization: Bearer <key>"),
    queryError: errorBody("invalid_request_error", "query_not_allowed", "the gateway takes no query parameters here; send the API key in the Authorization header"),
  };
}
