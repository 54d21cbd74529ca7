/**
 * What renderGateway needs beyond the plan: where nginx listens, the client keys (hashed, never
 * written), how replicas are reached from where the gateway runs, and which nginx build runs it.
 * Normalized once (defaults filled) before anything is rendered.
 */

/** The nginx build that runs the gateway; each loads njs from its own path. */
export type NginxFlavor = "debian" | "official-image";

/**
 * The official image the gateway runs in production, and the njs it ships (gateway-notes.md:
 * 1.28.1 → njs 0.9.4; the debian and alpine variants carry njs, alpine-slim does not). Tags are
 * rebuilt upstream: deployments should pin the digest of this tag.
 */
export const OFFICIAL_NGINX_IMAGE = { image: "nginx:1.28.1", njs: "0.9.4" } as const;

/** The load_module path per flavor: Debian's package, or the image's prefix-relative modules/. */
export const NJS_MODULE_PATH: { [flavor in NginxFlavor]: string } = {
  debian: "/usr/lib/nginx/modules/ngx_http_js_module.so",
  "official-image": "modules/ngx_http_js_module.so",
};

/** Where the gateway reaches one upstream: a replica of a served model, or an external provider. */
export interface UpstreamTarget {
  host: string;
  port: number;
  /** HTTPS to the upstream (external providers). */
  tls: boolean;
}

/**
 * Maps a planned endpoint to the address the gateway should use (tests and local runs point
 * replicas at loopback servers). For external models `replicaIndex` is 0 and `planned` comes
 * from the model's URL.
 */
export type ResolveEndpoint = (modelId: string, replicaIndex: number, planned: UpstreamTarget) => { host: string; port: number; tls?: boolean };

import type { UsageRenderOptions } from "../usage/gateway";

export interface GatewayRenderOptions {
  /** Client key values by key name (gateway.keys). Only their SHA-256 hex digests are rendered. */
  clientKeys: Record<string, string>;
  /** @example { address: "127.0.0.1", port: 8080 } */
  listen: {
    address: string;
    port: number;
    /** PEM files on the gateway host (never their contents). @default plain HTTP */
    tls?: { certificateFile: string; keyFile: string };
  };
  /** @default "debian" */
  nginx?: NginxFlavor;
  /** @default the planned endpoint */
  resolveEndpoint?: ResolveEndpoint;
  /** Relative paths are under nginx's prefix (`nginx -p DIR`). */
  paths?: {
    /** @default "nginx.pid" */
    pidFile?: string;
    /** @default "stderr" */
    errorLog?: string;
    /** JSON lines. "/dev/stdout" works when stdout is a terminal, pipe or file, not a socket. @default "access.log" */
    accessLog?: string;
    /** Parent of nginx's temp directories (it creates the last level). @default "." */
    tempDir?: string;
    /**
     * The unix socket of the gateway's internal listener, which sends a request the router answers
     * itself (an error, /v1/models, /health, /v1/usage) or routes to a named tier location back to
     * the router (nginx.conf.hbs "in place"). nginx takes a unix socket's path as given (not under
     * its prefix): a relative one is relative to the directory nginx starts in, so two gateways
     * started from one directory need their own. @default "<tempDir>/llm-fleet-router.sock"
     */
    routerSocket?: string;
  };
  /** DNS servers for upstream host names in health probes (ngx.fetch needs one for names). */
  resolver?: string[];
  /** @default "auto" */
  workerProcesses?: number | "auto";
  /**
   * Per worker; a stream holds two (client and upstream). worker_rlimit_nofile is set to twice this.
   * @default 4096
   */
  workerConnections?: number;
  /** Worker user when the master runs as root (the official image uses "nginx"). @default none */
  user?: string;
  /** CA bundle for verifying external providers. @default "/etc/ssl/certs/ca-certificates.crt" */
  trustedCertificate?: string;
  /** Secret holding the key the fleet's own engines check (llama-server LLAMA_API_KEY). @default none */
  engineKeySecret?: string;
  /** Time a /health probe may take. @default 2 */
  probeTimeoutSeconds?: number;
  /**
   * Passive health: a replica that failed `maxFails` times within `failTimeoutSeconds` is skipped
   * for `failTimeoutSeconds` (nginx max_fails / fail_timeout). @default { maxFails: 2, failTimeoutSeconds: 10 }
   */
  passiveHealth?: { maxFails?: number; failTimeoutSeconds?: number };
  /** Usage state and the metrics listener; required when gateway.metering is on. @default none */
  usage?: UsageRenderOptions;
}

export interface NormalizedOptions {
  clientKeys: Record<string, string>;
  listen: GatewayRenderOptions["listen"];
  nginx: NginxFlavor;
  resolveEndpoint: ResolveEndpoint;
  paths: Required<NonNullable<GatewayRenderOptions["paths"]>>;
  resolver: string[];
  workerProcesses: number | "auto";
  workerConnections: number;
  user: string | null;
  trustedCertificate: string;
  engineKeySecret: string | null;
  probeTimeoutSeconds: number;
  passiveHealth: { maxFails: number; failTimeoutSeconds: number };
  usage: UsageRenderOptions | undefined;
}

export function normalizeOptions(o: GatewayRenderOptions): NormalizedOptions {
  return {
    clientKeys: o.clientKeys,
    listen: o.listen,
    nginx: o.nginx ?? "debian",
    resolveEndpoint: o.resolveEndpoint ?? ((_id, _i, planned) => planned),
    paths: {
      pidFile: o.paths?.pidFile ?? "nginx.pid",
      errorLog: o.paths?.errorLog ?? "stderr",
      accessLog: o.paths?.accessLog ?? "access.log",
      tempDir: o.paths?.tempDir ?? ".",
      routerSocket: o.paths?.routerSocket ?? `${o.paths?.tempDir ?? "."}/llm-fleet-router.sock`,
    },
    resolver: o.resolver ?? [],
    workerProcesses: o.workerProcesses ?? "auto",
    workerConnections: o.workerConnections ?? 4096,
    user: o.user ?? null,
    trustedCertificate: o.trustedCertificate ?? "/etc/ssl/certs/ca-certificates.crt",
    engineKeySecret: o.engineKeySecret ?? null,
    probeTimeoutSeconds: o.probeTimeoutSeconds ?? 2,
    passiveHealth: { maxFails: o.passiveHealth?.maxFails ?? 2, failTimeoutSeconds: o.passiveHealth?.failTimeoutSeconds ?? 10 },
    usage: o.usage,
  };
}
