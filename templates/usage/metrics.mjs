// @ts-check
/**
 * The gateway's Prometheus metrics (text exposition format 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/): counters and histograms kept as
 * plain JSON so they persist with the usage state and survive restarts.
 */

/** Seconds; the last buckets cover slow first tokens (readTimeoutSeconds defaults to 300). */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
export const TTFB_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** name → help, type and label names, in exposition order. */
export const METRICS = {
  llm_fleet_requests_total: { type: "counter", help: "Requests routed to a model, by key, requested model, model that served it, tier and HTTP status.", labels: ["key", "model", "served_by", "tier", "code"] },
  llm_fleet_tokens_total: { type: "counter", help: "Tokens from the upstream's usage, by key, requested model and kind (prompt or completion).", labels: ["key", "model", "kind"] },
  llm_fleet_usage_missing_total: { type: "counter", help: "Successful replies whose upstream sent no usage: their tokens are not counted (never guessed).", labels: ["key", "model", "served_by"] },
  llm_fleet_request_duration_seconds: { type: "histogram", help: "Time from the first byte of the request to the last byte of the reply, by model.", labels: ["model"], buckets: DURATION_BUCKETS },
  llm_fleet_time_to_first_byte_seconds: { type: "histogram", help: "Time from the first byte of the request to the first byte of the reply body, by model.", labels: ["model"], buckets: TTFB_BUCKETS },
  llm_fleet_failovers_total: { type: "counter", help: "A tier failed or was skipped and the next tier was tried, by model, tier models and reason (upstream status, timeout, limit).", labels: ["model", "from", "to", "reason"] },
  llm_fleet_quota_remaining: { type: "gauge", help: "What a key may still use in the current UTC window (day or month) of its quota.", labels: ["key", "window", "kind"] },
  llm_fleet_usage_lines_total: { type: "counter", help: "Usage log lines read by the usage service (rejected ones have result=invalid).", labels: ["result"] },
};

/** @typedef {{ counters: Record<string, Record<string, number>>, histograms: Record<string, Record<string, { buckets: number[], sum: number, count: number }>> }} MetricState */

/** @returns {MetricState} */
export function emptyMetrics() {
  return { counters: {}, histograms: {} };
}

const NEEDS_ESCAPE = /[\\\n"]/;
/**
 * A label value as the exposition format writes it: backslash, newline and double quote escaped.
 * Tested first: three replaces on every value cost the usage service ~2 µs a usage-log line.
 * @param {string} v
 */
const escapeLabel = (v) => (NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : v);

/** @param {string[]} names @param {string[]} values */
export function labelKey(names, values) {
  let k = "";
  for (let i = 0; i < names.length; i++) k += `${i ? "," : ""}${names[i]}="${escapeLabel(values[i] ?? "")}"`;
  return k;
}

/** @param {MetricState} m @param {keyof typeof METRICS} name @param {string[]} values @param {number} [by] */
export function inc(m, name, values, by = 1) {
  const series = (m.counters[name] ??= {});
  const k = labelKey(METRICS[name].labels, values);
  series[k] = (series[k] ?? 0) + by;
}

/** @param {MetricState} m @param {"llm_fleet_request_duration_seconds" | "llm_fleet_time_to_first_byte_seconds"} name @param {string[]} values @param {number} seconds */
export function observe(m, name, values, seconds) {
  const def = METRICS[name];
  const series = (m.histograms[name] ??= {});
  const k = labelKey(def.labels, values);
  const h = (series[k] ??= { buckets: def.buckets.map(() => 0), sum: 0, count: 0 });
  def.buckets.forEach((b, i) => {
    if (seconds <= b) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
  });
  h.sum += seconds;
  h.count += 1;
}

/** @param {number} v */
const num = (v) => (Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6));

/**
 * The exposition text. `gauges` are computed at scrape time (quota remaining).
 * @param {MetricState} m @param {Record<string, Record<string, number>>} gauges
 */
export function exposition(m, gauges) {
  const out = [];
  for (const [name, def] of Object.entries(METRICS)) {
    out.push(`# HELP ${name} ${def.help}`, `# TYPE ${name} ${def.type}`);
    if (def.type === "histogram") {
      for (const [k, h] of Object.entries(m.histograms[name] ?? {})) {
        const buckets = /** @type {number[]} */ (/** @type {{ buckets?: number[] }} */ (def).buckets);
        buckets.forEach((b, i) => out.push(`${name}_bucket{${k},le="${b}"} ${h.buckets[i] ?? 0}`));
        out.push(`${name}_bucket{${k},le="+Inf"} ${h.count}`, `${name}_sum{${k}} ${num(h.sum)}`, `${name}_count{${k}} ${h.count}`);
      }
      continue;
    }
    const series = def.type === "gauge" ? gauges[name] ?? {} : m.counters[name] ?? {};
    for (const [k, v] of Object.entries(series)) out.push(`${name}{${k}} ${num(v)}`);
  }
  return out.join("\n") + "\n";
}
