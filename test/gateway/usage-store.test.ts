/** The usage store's arithmetic: UTC windows, quota blocks, provider-limit blocks, failover reasons. */
import { describe, expect, it } from "vitest";
// @ts-expect-error -- tsc sees this test as CommonJS and refuses a static import of ESM (TS1479); vitest loads it fine. The modules themselves are type-checked (tsconfig include).
import { blocks, emptyState, ingest, ingestStart, quotaGauges, usageReport, attemptsOf } from "../../templates/usage/store.mjs";
// @ts-expect-error -- see above
import { WINDOWS, dayWindow, monthWindow } from "../../templates/usage/windows.mjs";
// @ts-expect-error -- see above
import { exposition, labelKey } from "../../templates/usage/metrics.mjs";
import { requireGateway } from "../../infra/plan/gateway";
import { usageServiceConfig } from "../../infra/render/usage/gateway";
import { parseFleetSpec } from "../../infra/spec/parse";
import { QUOTA_FIELDS } from "../../infra/spec/usage";
import { testSpec } from "./fleets";
import { usagePlan } from "./usage-fleet";

/** A store config as config.json gives it: the quota fields are the spec's (infra/spec/usage.ts). */
const cfg = {
  quotaFields: QUOTA_FIELDS,
  keys: { org: { quota: { requestsPerDay: 2, tokensPerMonth: 100 }, admin: false, blockFile: "key-org" }, free: { quota: null, admin: false, blockFile: "key-free" } },
  chains: { chat: ["chat", "coder", "cloud"] },
  tierLimits: { coder: { requestsPerMinute: 2, blockFile: "tier-1" }, cloud: { requestsPerDay: 1, blockFile: "tier-2" } },
};
const rec = (over: Record<string, string> = {}) => ({
  t: "0", key: "org", model: "chat", served: "chat", tier: "0", attempts: " 0", status: "200", ustatus: "200",
  pt: "10", ct: "5", usage: "ok", ttfb: "0.1", rt: "0.2", quota: "", ...over,
});
const at = (iso: string) => Date.parse(iso);

describe("UTC windows", () => {
  it("a day runs from 00:00 UTC to the next 00:00 UTC; a month from the 1st, across year ends and leap days", () => {
    expect(dayWindow(at("2026-11-27T23:59:59.999Z"))).toEqual({ id: "2026-11-27", start: at("2026-11-27T00:00:00Z"), end: at("2026-11-28T00:00:00Z") });
    expect(monthWindow(at("2026-12-31T23:00:00Z")).end).toBe(at("2027-01-01T00:00:00Z"));
    expect(dayWindow(at("2028-02-28T12:00:00Z")).end).toBe(at("2028-02-29T00:00:00Z"));
    expect(monthWindow(at("2028-02-29T12:00:00Z"))).toMatchObject({ id: "2028-02", end: at("2028-03-01T00:00:00Z") });
  });

  it("the store's windows (the last one kept) are the same windows whatever order the times come in: across a midnight, a month end, and back for a line read late", () => {
    const times = ["2026-11-30T23:59:59.999Z", "2026-12-01T00:00:00Z", "2026-11-30T12:00:00Z", "2026-11-30T23:59:59.999Z", "2026-12-01T00:00:00.001Z", "2025-01-01T00:00:00Z", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"];
    for (const t of times) {
      expect(WINDOWS.day(at(t)), t).toEqual(dayWindow(at(t)));
      expect(WINDOWS.month(at(t)), t).toEqual(monthWindow(at(t)));
    }
  });
});

describe("metric labels", () => {
  it("escape a backslash, a newline and a double quote in a value (exposition format 0.0.4) and leave every other character as it is", () => {
    expect(labelKey(["key", "model"], ["app", "chat"])).toBe('key="app",model="chat"');
    expect(labelKey(["a", "b", "c"], ['x\\y', "l1\nl2", 'say "hi"'])).toBe('a="x\\\\y",b="l1\\nl2",c="say \\"hi\\""');
    expect(labelKey(["a"], ["é ü {} , ="])).toBe('a="é ü {} , ="');
    expect(labelKey(["a", "b"], ["only"])).toBe('a="only",b=""');
  });
});

describe("quotas", () => {
  it("walks the quota fields the service's config.json carries: the spec's QUOTA_FIELDS, not a list of its own", () => {
    const rendered = usageServiceConfig(requireGateway(usagePlan(true), "test"), { dir: "/var/lib/llm-fleet/usage" });
    expect(JSON.parse(JSON.stringify(rendered)).quotaFields).toEqual(QUOTA_FIELDS);
    const s = emptyState();
    const t = at("2026-11-27T10:00:00Z");
    ingest(s, cfg, rec({ pt: "90", ct: "10" }), t);
    const onlyDays = { ...cfg, quotaFields: QUOTA_FIELDS.filter((f) => f.window === "day") };
    expect(blocks(s, cfg, t).get("key-org")).toMatchObject({ window: "month", kind: "tokens" });
    expect(blocks(s, onlyDays, t).size).toBe(0);
    expect(usageReport(s, onlyDays, "org", t).month.limits).toEqual({ requests: null, tokens: null });
  });

  it("blocks a key at its daily request quota until the next UTC midnight, and not a key without quota", () => {
    const s = emptyState();
    const t = at("2026-11-27T10:00:00Z");
    ingest(s, cfg, rec(), t);
    expect(blocks(s, cfg, t).size).toBe(0);
    ingest(s, cfg, rec(), t);
    for (let i = 0; i < 5; i++) ingest(s, cfg, rec({ key: "free" }), t);
    expect([...blocks(s, cfg, t)]).toEqual([["key-org", { until: at("2026-11-28T00:00:00Z"), window: "day", kind: "requests", limit: 2 }]]);
    expect(blocks(s, cfg, at("2026-11-28T00:00:00Z")).size).toBe(0);
  });

  it("the monthly token quota outlasts the day: blocked until the 1st", () => {
    const s = emptyState();
    ingest(s, cfg, rec({ pt: "90", ct: "10" }), at("2026-11-03T10:00:00Z"));
    expect(blocks(s, cfg, at("2026-11-04T10:00:00Z")).get("key-org")).toMatchObject({ window: "month", kind: "tokens", until: at("2026-12-01T00:00:00Z") });
    expect(quotaGauges(s, cfg, at("2026-11-04T10:00:00Z")).llm_fleet_quota_remaining['key="org",window="month",kind="tokens"']).toBe(0);
    expect(usageReport(s, cfg, "org", at("2026-12-01T00:00:01Z")).month).toMatchObject({ window: "2026-12", total_tokens: 0, remaining: { tokens: 100 } });
  });

  it("does not count refused, failed or unrouted requests, nor guess tokens of a reply without usage", () => {
    const s = emptyState();
    const t = at("2026-11-27T10:00:00Z");
    ingest(s, cfg, rec({ quota: "day:requests", status: "429", attempts: "", ustatus: "" }), t);
    ingest(s, cfg, rec({ status: "503", attempts: " 0 1 2", ustatus: "503 : 503 : 503" }), t);
    ingest(s, cfg, rec({ usage: "missing", pt: "", ct: "" }), t);
    const day = usageReport(s, cfg, "org", t).day;
    expect(day).toMatchObject({ requests: 1, total_tokens: 0, requests_without_usage: 1 });
  });
});

describe("provider limits and failovers", () => {
  it("reads the tiers a request tried from $fleet_attempts and $upstream_status", () => {
    expect(attemptsOf(rec({ attempts: " 0 1! 2", ustatus: "502, 504 : 200" }), cfg.chains.chat)).toEqual([
      { tier: 0, model: "chat", skipped: false, status: "504" },
      { tier: 1, model: "coder", skipped: true, status: "" },
      { tier: 2, model: "cloud", skipped: false, status: "200" },
    ]);
  });

  it("blocks a tier for the rest of its rolling minute, and for the day at its daily limit, counting requests as they start", () => {
    const s = emptyState();
    const t0 = at("2026-11-27T10:00:00Z");
    ingestStart(s, cfg, "tier-1", t0);
    expect(blocks(s, cfg, t0 + 1).has("tier-1")).toBe(false);
    ingestStart(s, cfg, "tier-1", t0 + 10_000);
    expect(blocks(s, cfg, t0 + 20_000).get("tier-1")).toMatchObject({ window: "minute", until: t0 + 60_000 });
    expect(blocks(s, cfg, t0 + 60_001).has("tier-1")).toBe(false);
    ingestStart(s, cfg, "tier-2", t0);
    expect(blocks(s, cfg, t0).get("tier-2")).toMatchObject({ window: "day", until: at("2026-11-28T00:00:00Z") });
    expect(blocks(s, cfg, at("2026-11-28T00:00:00Z")).has("tier-2")).toBe(false);
    // The requests' end lines add nothing to the limits (their starts were counted).
    ingest(s, cfg, rec({ attempts: " 0 1", ustatus: "503 : 200" }), t0 + 20_000);
    ingest(s, cfg, rec({ attempts: " 0 1", ustatus: "503 : 200" }), t0 + 30_000);
    ingest(s, cfg, rec({ attempts: " 0 1! 2", ustatus: "504 : 200" }), t0);
    expect(blocks(s, cfg, t0 + 60_001).has("tier-1")).toBe(false);
    const text = exposition(s.metrics, quotaGauges(s, cfg, t0));
    expect(text).toContain('llm_fleet_failovers_total{model="chat",from="chat",to="coder",reason="503"} 2');
    expect(text).toContain('llm_fleet_failovers_total{model="chat",from="coder",to="cloud",reason="limit"} 1');
    expect(text).toContain('llm_fleet_failovers_total{model="chat",from="chat",to="coder",reason="timeout"} 1');
  });
});

describe("spec", () => {
  it("refuses quotas and provider request limits without metering, and bad metrics CIDRs, naming each path", () => {
    const keys = { app: { models: ["*"], rateClass: "std", quota: { tokensPerDay: 10 } }, coder: { models: ["coder"], rateClass: "std" }, tight: { models: ["chat"], rateClass: "tight" }, solo: { models: ["chat"], rateClass: "solo" } };
    expect(() => parseFleetSpec({ ...testSpec(), gateway: { ...testSpec().gateway, keys, metricsCidrs: ["10.0.0.0/33"] } })).toThrowError(
      /gateway\.keys\.app\.quota: a quota without metering[\s\S]*gateway\.metricsCidrs\[0\]: "10\.0\.0\.0\/33" has prefix length \/33; IPv4 allows \/0 to \/32/,
    );
    expect(() => parseFleetSpec({ ...testSpec(), gateway: { ...testSpec().gateway, keys: { ...keys, app: { ...keys.app, quota: {} } }, metering: true } })).toThrowError(/gateway\.keys\.app\.quota: a quota needs at least one/);
  });
});
