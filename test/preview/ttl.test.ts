import { describe, expect, it } from "vitest";
import { MAX_TTL_MS, expiresAt, parseTtl } from "../../scripts/preview";

describe("parseTtl", () => {
  it.each([
    ["30m", 30 * 60_000],
    ["24h", 24 * 3_600_000],
    ["7d", 7 * 86_400_000],
    ["90m", 90 * 60_000],
    ["30d", MAX_TTL_MS],
  ])("%s", (text, ms) => {
    expect(parseTtl(text)).toBe(ms);
  });

  it("rejects combinations, naming the flag and saying what to write instead", () => {
    expect(() => parseTtl("1h30m")).toThrow('--ttl: "1h30m" combines units; give one number and one unit (e.g. 90m instead of 1h30m)');
    expect(() => parseTtl("1d12h")).toThrow(/--ttl: "1d12h" combines units/);
  });

  it.each(["", "24", "h", "1.5h", "-1h", "24 h", "24H", "1w", "PT24H", " 24h"])("rejects %j, naming the flag", (text) => {
    expect(() => parseTtl(text)).toThrow(new RegExp(`^--ttl: ${JSON.stringify(text).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a duration`));
  });

  it("rejects zero and more than 30 days", () => {
    expect(() => parseTtl("0m")).toThrow(/--ttl: "0m" is zero/);
    expect(() => parseTtl("31d")).toThrow(/--ttl: "31d" is more than 30d/);
    expect(() => parseTtl("721h")).toThrow(/more than 30d/);
  });

  it("names whichever flag it parses", () => {
    expect(() => parseTtl("soon", "--keep-for")).toThrow(/^--keep-for: "soon"/);
  });
});

describe("expiresAt", () => {
  it("is now + TTL as an ISO instant", () => {
    expect(expiresAt(new Date("2026-03-01T10:00:00Z"), parseTtl("24h"))).toBe("2026-03-02T10:00:00.000Z");
    expect(expiresAt(new Date("2026-03-01T23:45:00Z"), parseTtl("30m"))).toBe("2026-03-02T00:15:00.000Z");
  });
});
