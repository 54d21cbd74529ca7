/**
 * usage.js's block checks, run in Node against a real directory, with every file-system call
 * recorded. On njs 0.7.9 a failing fs call costs ~0.9 ms of worker CPU (the error it builds), ten
 * times a whole request through the gateway: the quota check of a key that is not blocked and the
 * limit check of a tier that is not used up must not make one (bench: BENCH_METERING=quota).
 * The live behaviour (429s, skips, start lines) is in usage.test.ts against real nginx.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { USAGE_LAYOUT, usageRouterConfig } from "../../infra/render/usage/gateway";

interface FakeRequest {
  /** What location /'s try_files left in r.uri: "/./" (the key's entry) or the block file nginx found. */
  uri: string;
  variables: Record<string, string>;
  warnings: string[];
  warn(m: string): void;
  sent?: { status: number; body: { error: { code: string; message: string } } };
}
interface UsageModule {
  overQuota(r: FakeRequest, key: { name: string; quotaBlock: string | null }, send: (r: FakeRequest, status: number, body: unknown) => void): boolean;
  tierSkip(r: FakeRequest): string;
}

const SOURCE = fs.readFileSync(path.join(__dirname, "../../templates/nginx/usage.js"), "utf8");
/** body.js, which usage.js imports (its JSON scanning helpers); it imports nothing itself. */
const BODY_MODULE = new Function(fs.readFileSync(path.join(__dirname, "../../templates/nginx/body.js"), "utf8").replace("export default {", "return {"))() as object;

/** usage.js as nginx loads it, with `fs` (Node's, every call recorded), `body` and `fleet` given. */
function loadUsage(dir: string, calls: { name: string; threw: boolean }[]): UsageModule {
  const recorded = Object.fromEntries(
    (["statSync", "readFileSync", "appendFileSync", "accessSync", "existsSync"] as const).map((name) => [
      name,
      (...args: unknown[]) => {
        try {
          const out = (fs[name] as (...a: unknown[]) => unknown)(...args);
          calls.push({ name, threw: false });
          return out;
        } catch (e) {
          calls.push({ name, threw: true });
          throw e;
        }
      },
    ]),
  );
  const body = SOURCE.replace(/^import .*$/gm, "").replace("export default {", "return {");
  return new Function("fs", "fleet", "Buffer", "body", body)(recorded, { usage: usageRouterConfig(dir) }, Buffer, BODY_MODULE) as UsageModule;
}

const request = (variables: Record<string, string> = {}, uri = "/./"): FakeRequest => {
  const r: FakeRequest = { uri, variables: { msec: "1764240000.123", fleet_usage_hour: "2026-11-27T10", ...variables }, warnings: [], warn: (m) => r.warnings.push(m) };
  return r;
};
const send = (r: FakeRequest, status: number, body: unknown) => void (r.sent = { status, body: body as NonNullable<FakeRequest["sent"]>["body"] });

describe("usage.js block checks", () => {
  let dir: string;
  let calls: { name: string; threw: boolean }[];
  let usage: UsageModule;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-usage-njs-"));
    fs.mkdirSync(path.join(dir, USAGE_LAYOUT.blockedDir));
    calls = [];
    usage = loadUsage(dir, calls);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("makes no fs call for a key whose block file nginx did not find, nor for a key without a quota", () => {
    const org = { name: "org", quotaBlock: path.join(dir, "blocked/key-org") };
    const r = request();
    expect(usage.overQuota(r, org, send)).toBe(false);
    expect(usage.overQuota(r, { name: "free", quotaBlock: null }, send)).toBe(false);
    // A client's own path equal to the block file's never gets here: try_files always rewrites r.uri.
    expect(calls).toEqual([]);
    expect(r.sent).toBeUndefined();
  });

  it("answers 429 quota_exceeded from a block file nginx found, and ignores one whose window has ended or that is gone", () => {
    const until = Date.now() + 90_000;
    const file = path.join(dir, "blocked/key-org");
    const org = { name: "org", quotaBlock: file };
    fs.writeFileSync(file, JSON.stringify({ until, window: "day", kind: "requests", limit: 5 }));
    const r = request({}, file);
    expect(usage.overQuota(r, org, send)).toBe(true);
    expect(r.sent).toMatchObject({ status: 429, body: { error: { code: "quota_exceeded" } } });
    expect(r.variables.fleet_quota_block).toBe("day:requests");
    expect(Number(r.variables.fleet_quota_retry_after)).toBeGreaterThanOrEqual(89);
    fs.writeFileSync(file, JSON.stringify({ until: Date.now() - 1, window: "day", kind: "requests", limit: 5 }));
    expect(usage.overQuota(request({}, file), org, send)).toBe(false);
    // Lifted after nginx's cache last saw it (up to a second): served, and no failing fs call.
    fs.rmSync(file);
    calls.length = 0;
    expect(usage.overQuota(request({}, file), org, send)).toBe(false);
    expect(calls.filter((c) => c.threw)).toEqual([]);
  });

  it("lets a tier under its limit take the request and counts its start in the usage log, with no failing fs call", () => {
    expect(usage.tierSkip(request({ fleet_tier_block: "tier-1" }))).toBe("");
    expect(calls.filter((c) => c.threw)).toEqual([]);
    expect(fs.readFileSync(path.join(dir, "usage-2026-11-27T10.log"), "utf8")).toBe('{"t":"1764240000.123","start":"tier-1"}\n');
    fs.writeFileSync(path.join(dir, "blocked/tier-1"), JSON.stringify({ until: Date.now() + 60_000, window: "minute", kind: "requests", limit: 2 }));
    expect(usage.tierSkip(request({ fleet_tier_block: "tier-1" }))).toBe("1");
    // A skipped tier receives nothing, so nothing is counted.
    expect(fs.readFileSync(path.join(dir, "usage-2026-11-27T10.log"), "utf8").split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("says in the error log when it cannot count a start (usage directory gone), and still serves", () => {
    fs.rmSync(dir, { recursive: true, force: true });
    const r = request({ fleet_tier_block: "tier-1" });
    expect(usage.tierSkip(r)).toBe("");
    expect(r.warnings.join("\n")).toMatch(/cannot count a request to tier-1/);
  });
});
