/**
 * Client key rules as data: each problem is a SpecIssue (path, message, fix), so the CLI and the
 * Pulumi program report them in their own words without reading an error's text.
 */
import { describe, expect, it } from "vitest";
import { FleetSpecError } from "../../spec/errors";
import { requireGateway } from "../../plan/gateway";
import { KEYS, testPlan } from "../../../test/gateway/fleets";
import { clientKeyIssues, hashClientKeys, sha256Hex } from "./router-config";

const plan = requireGateway(testPlan(), "test");
const FIX = "give every key its own value of at least 16 characters without spaces (e.g. openssl rand -hex 24)";

/** What hashClientKeys throws for these values (undefined: it hashed them). */
function refusal(values: Record<string, string>): unknown {
  try {
    hashClientKeys(plan, values, null);
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("clientKeyIssues", () => {
  it("accepts one long, distinct value per key", () => {
    expect(clientKeyIssues(plan, { ...KEYS })).toEqual([]);
  });

  it("names every bad key at once, with its spec path, and never the value", () => {
    const issues = clientKeyIssues(plan, { app: KEYS.app, coder: "short key", tight: KEYS.app, extra: "sk-extra-0123456789abcdef" });
    expect(issues).toEqual([
      { path: "gateway.keys.coder", message: "the key must be at least 16 characters without spaces", fix: FIX },
      { path: "gateway.keys.tight", message: 'has the same value as key "app"; every key needs its own value', fix: FIX },
      { path: "gateway.keys.solo", message: "no key value given", fix: FIX },
      { path: "clientKeys.extra", message: 'client key "extra" is not in gateway.keys', fix: 'drop that value, or add "extra" under gateway.keys' },
    ]);
    expect(JSON.stringify(issues)).not.toContain(KEYS.app);
  });

  it("refuses a value that is not a string (a number or an object in Pulumi config) without printing it", () => {
    // `pulumi config set --secret llm-fleet:clientKeys '{"app": 12345678901234567890}'` gives a number;
    // hashing it threw Node's ERR_INVALID_ARG_TYPE, whose message quotes the value.
    const bad = { ...KEYS, app: 12345678901234567890, coder: { value: KEYS.coder } } as unknown as Record<string, string>;
    const issues = clientKeyIssues(plan, bad);
    expect(issues).toEqual([
      { path: "gateway.keys.app", message: "the key must be a string (a number, object or list was given)", fix: FIX },
      { path: "gateway.keys.coder", message: "the key must be a string (a number, object or list was given)", fix: FIX },
    ]);
    const thrown = refusal(bad);
    expect(thrown).toBeInstanceOf(FleetSpecError);
    expect(String(thrown)).not.toMatch(/1234567890|sk-/);
  });

  it("is what hashClientKeys refuses with, and a good set hashes to one digest per key, naming its caller id", () => {
    const bad = { ...KEYS, solo: "x" };
    const thrown = refusal(bad);
    expect(thrown).toBeInstanceOf(FleetSpecError);
    expect((thrown as FleetSpecError).issues).toEqual(clientKeyIssues(plan, bad));
    expect(hashClientKeys(plan, { ...KEYS }, null).clients).toEqual(Object.fromEntries(Object.entries(KEYS).map(([name, value]) => [sha256Hex(value), `k:${plan.gateway.keys[name]!.rateClass}:${name}`])));
  });

  it("reads key names as names, not as Object.prototype members (a key may be called constructor or valueof)", () => {
    const named = requireGateway(testPlan({ keys: { constructor: { models: ["chat"], rateClass: "std" }, valueof: { models: ["chat"], rateClass: "std" } } }), "test");
    // No value for "constructor": said so, not "must be a string" (the inherited Object constructor).
    expect(clientKeyIssues(named, { valueof: "sk-valueof-0123456789abcdef" })).toEqual([{ path: "gateway.keys.constructor", message: "no key value given", fix: FIX }]);
    // A value for a key the spec lacks is reported whatever its name.
    expect(clientKeyIssues(plan, { ...KEYS, toString: "sk-tostring-0123456789abcdef" })).toEqual([
      { path: "clientKeys.toString", message: 'client key "toString" is not in gateway.keys', fix: 'drop that value, or add "toString" under gateway.keys' },
    ]);
  });

  it("refuses a key with a character outside printable ASCII: clients put it in the header in different encodings", () => {
    // Measured on the live gateway with the key "sk-fleet-clé-…": curl's UTF-8 bytes got 200, Node's
    // fetch (Latin-1, as Python's http.client) got 401, since the digest is of the UTF-8 bytes.
    const issues = clientKeyIssues(plan, { ...KEYS, app: "sk-fleet-clé-0123456789abcdef", coder: "sk-fleet-coder-\u0001-0123456789" });
    expect(issues.map((i) => i.path)).toEqual(["gateway.keys.app", "gateway.keys.coder"]);
    expect(issues[0]!.message).toMatch(/printable ASCII/);
    expect(JSON.stringify(issues)).not.toContain("clé");
  });
});

