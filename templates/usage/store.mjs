// @ts-check
/**
 * The usage store: per-key day and month counters, per-upstream request counts for provider
 * limits, and the metrics, all fed from usage-log records. Pure apart from `now` being passed in:
 * the service (service.mjs) does the I/O and decides when to call it.
 */
import { FUTURE_SLACK_MS, MINUTE_MS, WINDOWS } from "./windows.mjs";
import { emptyMetrics, inc, labelKey, observe } from "./metrics.mjs";

/**
 * @typedef {{ requestsPerDay?: number, tokensPerDay?: number, requestsPerMonth?: number, tokensPerMonth?: number }} Quota
 * @typedef {{ requestsPerMinute?: number, requestsPerDay?: number, blockFile: string }} TierLimit
 * @typedef {{ field: keyof Quota, window: "day" | "month", kind: "requests" | "tokens" }} QuotaField
 * @typedef {{ quotaFields: readonly QuotaField[], keys: Record<string, { quota: Quota | null, admin: boolean, blockFile: string }>, chains: Record<string, string[]>, tierLimits: Record<string, TierLimit> }} StoreConfig
 *   quotaFields: which quota field counts what in which window, from config.json (infra/spec/usage.ts QUOTA_FIELDS)
 * @typedef {{ id: string, requests: number, prompt: number, completion: number, missing: number }} WindowCount
 * @typedef {{ day?: WindowCount, month?: WindowCount }} KeyUsage
 * @typedef {{ minute: number[], day?: { id: string, requests: number } }} TierUsage
 * @typedef {{ version: 1, files: Record<string, number>, keys: Record<string, KeyUsage>, tiers: Record<string, TierUsage>, metrics: import("./metrics.mjs").MetricState }} UsageState
 * @typedef {{ t: string, key: string, model: string, served: string, tier: string, attempts: string, status: string, ustatus: string, pt: string, ct: string, usage: string, ttfb: string, rt: string, quota: string }} UsageRecord
 * @typedef {{ until: number, window: string, kind: string, limit: number }} Block
 */

/** @returns {UsageState} */
export function emptyState() {
  return { version: 1, files: {}, keys: {}, tiers: {}, metrics: emptyMetrics() };
}

/** @param {KeyUsage} u @param {"day" | "month"} w @param {number} now @returns {WindowCount} */
function windowOf(u, w, now) {
  const id = WINDOWS[w](now).id;
  const cur = u[w];
  if (cur && cur.id === id) return cur;
  const fresh = { id, requests: 0, prompt: 0, completion: 0, missing: 0 };
  // A record from an earlier window (read late after a restart) does not reopen it.
  if (cur && cur.id > id) return { ...fresh, id };
  u[w] = fresh;
  return fresh;
}

/** What a key used in the window containing `now` (zeros for a window that has not started). */
export function usedIn(/** @type {UsageState} */ s, /** @type {string} */ key, /** @type {"day" | "month"} */ w, /** @type {number} */ now) {
  const id = WINDOWS[w](now).id;
  const cur = s.keys[key]?.[w];
  return cur && cur.id === id ? cur : { id, requests: 0, prompt: 0, completion: 0, missing: 0 };
}

/**
 * Each quota limit of each key against what the key used in that limit's window at `now`.
 * @param {UsageState} s @param {StoreConfig} cfg @param {number} now
 */
function* quotaUse(s, cfg, now) {
  for (const [name, k] of Object.entries(cfg.keys)) {
    if (!k.quota) continue;
    for (const { field, window: w, kind } of cfg.quotaFields) {
      const limit = k.quota[field];
      if (limit === undefined) continue;
      const c = usedIn(s, name, w, now);
      yield { name, file: k.blockFile, w, kind, limit, used: kind === "requests" ? c.requests : c.prompt + c.completion };
    }
  }
}

/** @param {string} v */
const count = (v) => (/^\d+$/.test(v) ? Number(v) : null);
/** @param {string} v */
const seconds = (v) => (/^\d+(\.\d+)?$/.test(v) ? Number(v) : null);

/**
 * The tiers a request reached: $fleet_attempts is " 0 1! 2" (tier indexes in order, "!" = skipped
 * because its limit was used up); $upstream_status has one group per contacted tier, " : " between
 * them (nginx keeps upstream states across error_page redirects). A tier twice in a row is one
 * attempt: `location /` asks tier 0's raw location again after an engine's 400/405/411/413/414 in
 * place (nginx.conf.hbs, $fleet_replay), which is no failover; the later answer is its status.
 * @param {UsageRecord} r @param {string[]} chain
 */
export function attemptsOf(r, chain) {
  const groups = r.ustatus ? r.ustatus.split(" : ") : [];
  let g = 0;
  /** @type {{ tier: number, model: string, skipped: boolean, status: string }[]} */
  const out = [];
  for (const a of r.attempts.trim().split(/\s+/).filter(Boolean)) {
    const skipped = a.endsWith("!");
    const tier = Number(skipped ? a.slice(0, -1) : a);
    const statuses = skipped ? "" : groups[g++] ?? "";
    const status = statuses.split(", ").pop() ?? "";
    const prev = out[out.length - 1];
    if (prev && !skipped && !prev.skipped && prev.tier === tier) prev.status = status;
    else out.push({ tier, model: chain[tier] ?? `tier${tier}`, skipped, status });
  }
  return out;
}

/** @param {{ skipped: boolean, status: string }} a */
function failoverReason(a) {
  if (a.skipped) return "limit";
  if (a.status === "504") return "timeout";
  return a.status || "error";
}

/**
 * Applies one usage-log record (a request's end): metrics, failovers and the key's quota
 * windows, which follow the record's own time. Provider limits count start lines (ingestStart).
 * @param {UsageState} s @param {StoreConfig} cfg @param {UsageRecord} r @param {number} t record time (ms, service clock)
 */
export function ingest(s, cfg, r, t) {
  const m = s.metrics;
  const chain = cfg.chains[r.model] ?? [r.model];
  inc(m, "llm_fleet_requests_total", [r.key, r.model, r.served || "-", r.tier || "-", r.status]);
  const rt = seconds(r.rt);
  if (rt !== null) observe(m, "llm_fleet_request_duration_seconds", [r.model], rt);
  const ttfb = seconds(r.ttfb);
  if (ttfb !== null) observe(m, "llm_fleet_time_to_first_byte_seconds", [r.model], ttfb);
  const pt = count(r.pt);
  const ct = count(r.ct);
  if (r.usage === "ok" && pt !== null && ct !== null) {
    inc(m, "llm_fleet_tokens_total", [r.key, r.model, "prompt"], pt);
    inc(m, "llm_fleet_tokens_total", [r.key, r.model, "completion"], ct);
  } else if (r.usage === "missing") {
    inc(m, "llm_fleet_usage_missing_total", [r.key, r.model, r.served || "-"]);
  }
  if (r.quota) return; // refused by the gateway's quota check: used nothing
  const attempts = attemptsOf(r, chain);
  for (let i = 0; i + 1 < attempts.length; i++) {
    const a = /** @type {{ model: string, skipped: boolean, status: string }} */ (attempts[i]);
    inc(m, "llm_fleet_failovers_total", [r.model, a.model, /** @type {{ model: string }} */ (attempts[i + 1]).model, failoverReason(a)]);
  }
  // Provider limits are counted from the start lines (ingestStart), not here.
  // Quota usage: what reached a model and did not end in a gateway or upstream failure.
  if (r.key === "-" || attempts.length === 0 || Number(r.status) >= 500) return;
  const u = (s.keys[r.key] ??= {});
  for (const w of /** @type {const} */ (["day", "month"])) {
    const c = windowOf(u, w, t);
    if (c.id !== WINDOWS[w](t).id) continue;
    c.requests += 1;
    if (r.usage === "ok" && pt !== null && ct !== null) {
      c.prompt += pt;
      c.completion += ct;
    } else if (r.usage === "missing") c.missing += 1;
  }
}

/**
 * Applies a start line: a request the gateway is sending to an upstream with request limits
 * ({"t","start":<its block file>}, written by usage.js as the tier takes it). Counting starts, not
 * ends, keeps long requests that run at once from all passing the limit.
 * @param {UsageState} s @param {StoreConfig} cfg @param {string} blockFile @param {number} t start time (ms, service clock)
 */
export function ingestStart(s, cfg, blockFile, t) {
  const entry = Object.entries(cfg.tierLimits).find(([, l]) => l.blockFile === blockFile);
  if (!entry) return; // a tier whose limits were removed since the line was written
  const [model, limit] = entry;
  const u = (s.tiers[model] ??= { minute: [] });
  if (limit.requestsPerMinute !== undefined) u.minute.push(t);
  if (limit.requestsPerDay !== undefined) {
    const id = WINDOWS.day(t).id;
    if (!u.day || u.day.id < id) u.day = { id, requests: 0 };
    if (u.day.id === id) u.day.requests += 1;
  }
}

/**
 * Forgets what was counted in windows that start after `now` (and the slack a log line may be
 * ahead): they were made while this host's clock ran ahead, then was corrected (a state.json
 * saved then, or a clock set back while the service ran). Kept, a day or month from the future
 * held every record of the real one out of the key's counts (windowOf does not reopen an earlier
 * window), and a start from the future blocked its tier until that minute came.
 * @param {UsageState} s @param {number} now @returns {boolean} whether anything was forgotten
 */
export function forgetFuture(s, now) {
  const ahead = now + FUTURE_SLACK_MS;
  let forgot = false;
  for (const u of Object.values(s.keys)) {
    for (const w of /** @type {const} */ (["day", "month"])) {
      const c = u[w];
      if (c && c.id > WINDOWS[w](ahead).id) {
        delete u[w];
        forgot = true;
      }
    }
  }
  for (const u of Object.values(s.tiers)) {
    if (u.day && u.day.id > WINDOWS.day(ahead).id) {
      delete u.day;
      forgot = true;
    }
    if (u.minute.some((t) => t > ahead)) {
      u.minute = u.minute.filter((t) => t <= ahead);
      forgot = true;
    }
  }
  return forgot;
}

/**
 * Blocks that should exist now: block file name → why and until when (service-clock ms).
 * @param {UsageState} s @param {StoreConfig} cfg @param {number} now
 * @returns {Map<string, Block>}
 */
export function blocks(s, cfg, now) {
  /** @type {Map<string, Block>} */
  const out = new Map();
  /** @param {string} file @param {Block} b */
  const add = (file, b) => {
    const prev = out.get(file);
    if (!prev || prev.until < b.until) out.set(file, b);
  };
  for (const { file, w, kind, limit, used } of quotaUse(s, cfg, now)) {
    if (used >= limit) add(file, { until: WINDOWS[w](now).end, window: w, kind, limit });
  }
  for (const [model, limit] of Object.entries(cfg.tierLimits)) {
    const u = s.tiers[model];
    if (!u) continue;
    u.minute = u.minute.filter((t) => t > now - MINUTE_MS);
    const rpm = limit.requestsPerMinute;
    if (rpm !== undefined && u.minute.length >= rpm) {
      add(limit.blockFile, { until: /** @type {number} */ (u.minute[u.minute.length - rpm]) + MINUTE_MS, window: "minute", kind: "requests", limit: rpm });
    }
    const rpd = limit.requestsPerDay;
    if (rpd !== undefined && u.day && u.day.id === WINDOWS.day(now).id && u.day.requests >= rpd) {
      add(limit.blockFile, { until: WINDOWS.day(now).end, window: "day", kind: "requests", limit: rpd });
    }
  }
  return out;
}

/** llm_fleet_quota_remaining series at `now`. */
export function quotaGauges(/** @type {UsageState} */ s, /** @type {StoreConfig} */ cfg, /** @type {number} */ now) {
  /** @type {Record<string, number>} */
  const series = {};
  for (const { name, w, kind, limit, used } of quotaUse(s, cfg, now)) {
    series[labelKey(["key", "window", "kind"], [name, w, kind])] = Math.max(0, limit - used);
  }
  return { llm_fleet_quota_remaining: series };
}

/** The body of GET /v1/usage for one key. */
export function usageReport(/** @type {UsageState} */ s, /** @type {StoreConfig} */ cfg, /** @type {string} */ key, /** @type {number} */ now) {
  const quota = cfg.keys[key]?.quota ?? null;
  /** @param {"day" | "month"} w */
  const windowReport = (w) => {
    const c = usedIn(s, key, w, now);
    const win = WINDOWS[w](now);
    /** @type {{ requests?: number, tokens?: number }} */
    const cap = {};
    for (const f of cfg.quotaFields) if (f.window === w) cap[f.kind] = quota?.[f.field];
    const tokens = c.prompt + c.completion;
    return {
      window: win.id,
      resets_at: new Date(win.end).toISOString(),
      requests: c.requests,
      prompt_tokens: c.prompt,
      completion_tokens: c.completion,
      total_tokens: tokens,
      requests_without_usage: c.missing,
      limits: { requests: cap.requests ?? null, tokens: cap.tokens ?? null },
      remaining: {
        requests: cap.requests === undefined ? null : Math.max(0, cap.requests - c.requests),
        tokens: cap.tokens === undefined ? null : Math.max(0, cap.tokens - tokens),
      },
    };
  };
  return { object: "usage", key, day: windowReport("day"), month: windowReport("month") };
}
