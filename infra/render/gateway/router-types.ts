/**
 * The shape of gateway/fleet.json, the data the njs router reads: written by router-config.ts,
 * read by templates/nginx/*.js (type-checked against it through templates/nginx/fleet-data.d.ts).
 * Types only, no imports: the njs type check (templates/nginx/tsconfig.json) includes this file.
 */

export interface RouterKey {
  /** The key's name in the spec (what logs, usage and errors say; never the key). */
  name: string;
  rateClass: string;
  /** Model ids, or "*" for all. */
  models: string[] | "*";
  /**
   * With a quota (and metering): the absolute path of its block file (keyBlockPath), which
   * `location /`'s try_files tests first; the router reads the file only when r.uri names it, that
   * is when nginx found it. null: no quota, nothing is looked up (keys without one pay nothing).
   */
  quotaBlock: string | null;
  /** May read any key's usage. */
  admin: boolean;
}

/** One tier of a model's chain, as the router picks it. */
export interface RouterTier {
  tier: number;
  /** The model that answers (a fallback tier may be served only to keys allowed this model, unless anyKey). */
  model: string;
  /** A fallback tier the spec opened to every key of the model (`{ model, anyKey: true }`). */
  anyKey: boolean;
  /** Named location that splices this tier's `model` into the body. */
  location: string;
  /** Tier 0: named location forwarding the client's bytes unchanged; null for other tiers. */
  rawLocation: string | null;
  /** The `model` this tier's upstream expects. */
  upstreamModel: string;
  external: boolean;
  /**
   * Tier 0 when `location /` proxies it itself (tiers.ts inPlaceTier), else null: proxy_pass's URL
   * up to the endpoint ("http://<upstream>/v1"), the Host header, and the environment variable
   * holding the key it is sent ("" for none): what its named location would set.
   */
  inPlace: { url: string; host: string; secret: string } | null;
}

export interface RouterModel {
  engine: string;
  aliases: string[];
  maxOutputTokens: number | null;
  contextLength: number | null;
  /** Its own upstream (tier 0), then each fallback. */
  chain: RouterTier[];
  /** Fallback model ids, in order. */
  tiers: string[];
  probes: { url: string; host: string }[];
}

export interface RouterConfig {
  /**
   * SHA-256 hex digest of each client key → the caller's id, the value of $fleet_client:
   * "k:<rateClass>:<key name>" (clientIdOf), so the router makes nothing per request but the digest.
   */
  clients: Record<string, string>;
  /** Key name → what it may do. */
  keyRights: Record<string, RouterKey>;
  models: Record<string, RouterModel>;
  /** Every id and alias → model id. */
  names: Record<string, string>;
  /** Path route → model id. */
  routes: Record<string, string>;
  /** Model ids in spec order (listings). */
  order: string[];
  /** Usage metering (usage.js): the state directory, or null when metering is off. */
  usage: { dir: string; blockedDir: string; logPrefix: string; logSuffix: string } | null;
}
