/**
 * renderGateway without traffic: every example fleet passes the real `nginx -t` (which also
 * compiles the njs modules), for both nginx flavors; keys appear only as digests and secrets
 * only as variable names; bad input fails with a message that names the fix.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import type { FleetPlan } from "../../infra/plan/types";
import { keyEnvName, NJS_MODULE_PATH, OFFICIAL_NGINX_IMAGE, renderGateway, secretEnvName, sha256Hex, type GatewayRenderOptions } from "../../infra/render/gateway";
import { ENGINE_UPSTREAM } from "../../infra/render/engines";
import { loadSpecFile } from "../../infra/spec/load";
import { parseFleetSpec } from "../../infra/spec/parse";
import { KEYS, testPlan } from "./fleets";
import { usagePlan } from "./usage-fleet";
import { nginxTest } from "./harness";

const EXAMPLES = path.resolve(__dirname, "../../examples");
const exampleFiles = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"));

/** Keys for every key name of a plan. */
const keysFor = (plan: FleetPlan) => Object.fromEntries(Object.keys(plan.gateway!.keys).map((k) => [k, `sk-${k}-${"0123456789abcdef".repeat(2)}`]));

/** nginx -t resolves upstream host names: names that exist only in the fleet's network become loopback. */
const offline: GatewayRenderOptions["resolveEndpoint"] = (_id, _i, planned) => (/^[0-9.]+$/.test(planned.host) ? planned : { ...planned, host: "127.0.0.1" });

const render = (plan: FleetPlan, o: Partial<GatewayRenderOptions> = {}) =>
  renderGateway(plan, { clientKeys: keysFor(plan), listen: { address: "127.0.0.1", port: 8080 }, resolveEndpoint: offline, ...o });

/** The named location `name` of a rendered nginx.conf. */
function locationBlock(conf: string, name: string): string {
  const start = conf.indexOf(`location ${name} {`);
  expect(start, `location ${name}`).toBeGreaterThan(-1);
  return conf.slice(start, conf.indexOf("\n        }", start));
}

describe("nginx -t accepts the rendered gateway", () => {
  it.each(exampleFiles)("of examples/%s (Debian nginx + njs 0.7.9)", (file) => {
    const files = render(planFleet(loadSpecFile(path.join(EXAMPLES, file))));
    const result = nginxTest(files);
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });

  it("for the official image, whose njs module is loaded from the prefix's modules/", () => {
    const files = render(testPlan(), { nginx: "official-image" });
    expect(files["gateway/nginx.conf"]!.contents).toMatch(/^load_module modules\/ngx_http_js_module\.so;$/m);
    // The image's workers run as its "nginx" user (not present on this machine, so not in nginx -t).
    expect(render(testPlan(), { nginx: "official-image", user: "nginx" })["gateway/nginx.conf"]!.contents).toMatch(/^user nginx;$/m);
    expect(OFFICIAL_NGINX_IMAGE).toEqual({ image: "nginx:1.28.1", njs: "0.9.4" });
    // Same config, with the Debian module standing in at the image's path.
    const result = nginxTest(files, (prefix) => {
      fs.mkdirSync(path.join(prefix, "modules"));
      fs.symlinkSync(NJS_MODULE_PATH.debian, path.join(prefix, NJS_MODULE_PATH["official-image"]));
    });
    expect(result.ok, result.output).toBe(true);
  });

  it("with TLS on the listener", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gw-tls-"));
    try {
      const cert = path.join(dir, "cert.pem");
      const key = path.join(dir, "key.pem");
      const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", cert], { encoding: "utf8" });
      expect(made.status, made.stderr).toBe(0);
      const files = render(testPlan(), { listen: { address: "127.0.0.1", port: 8443, tls: { certificateFile: cert, keyFile: key } } });
      expect(files["gateway/nginx.conf"]!.contents).toContain("listen 127.0.0.1:8443 ssl;");
      const result = nginxTest(files);
      expect(result.ok, result.output).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // nginx keeps map keys and variable names in hash buckets of one cache line (64 bytes) unless told
  // otherwise: a 47-character CORS origin, a 41-character key name with a quota, or a 42-character
  // rate class stopped nginx from starting ("could not build map_hash, you should increase
  // map_hash_bucket_size: 64").
  const n42 = (first: string) => `${first}${"-9".repeat(20)}z`;
  const longNames: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["a CORS origin of a 253-character host", { corsOrigins: [`https://${"a".repeat(241)}.example.com:8443`] }, {}],
    ["a key name of 42 characters with a quota", { keys: { [n42("k")]: { models: ["*"], rateClass: "std", quota: { requestsPerDay: 100 } } } }, {}],
    ["a rate class name of 42 characters, a key of 42 in it with a quota", { rateClasses: { [n42("c")]: { requestsPerMinute: 60, burst: 5, concurrency: 2 } }, keys: { [n42("k")]: { models: ["*"], rateClass: n42("c"), quota: { tokensPerMonth: 1000 } } } }, {}],
    ["model ids and aliases of 128 characters", {}, { models: [{ id: `Org.1/${"m".repeat(115)}:tag-v2`, engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, aliases: [`a:b/c.d_e-${"Z".repeat(118)}`], replicas: [{ nodes: ["box"] }] }] }],
  ];
  it.each(longNames)("with names as long as the spec allows: %s", (_what, gateway, fleet) => {
    expect(n42("k")).toHaveLength(42);
    const plan = planFleet(parseFleetSpec({
      name: "names", nodes: [{ name: "box", provider: "ssh", host: "ops@10.9.0.1", gpus: ["L4"] }],
      models: [{ id: "chat", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["box"] }] }],
      gateway: { metering: true, keys: { app: { models: ["*"], rateClass: "std", quota: { requestsPerDay: 100 } } }, rateClasses: { std: { requestsPerMinute: 60, burst: 5, concurrency: 2 } }, perIp: { requestsPerMinute: 600, burst: 50 }, ...gateway },
      ...fleet,
    }));
    const result = nginxTest(render(plan, { usage: { dir: "/var/lib/llm-fleet/usage" } }));
    expect(result.output).toBe("");
    expect(result.ok).toBe(true);
  });
});

describe("secrets", () => {
  it("holds SHA-256 digests of client keys, never a key, for any key values", () => {
    const plan = testPlan();
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 16, maxLength: 64 }).filter((s) => !/\s/.test(s)), { minLength: 4, maxLength: 4 }), (values) => {
        const clientKeys = Object.fromEntries(Object.keys(KEYS).map((name, i) => [name, values[i]!]));
        const files = render(plan, { clientKeys });
        const all = Object.values(files).map((f) => f.contents).join("\n");
        for (const key of values) {
          expect(all).not.toContain(key);
          expect(files["gateway/fleet.json"]!.contents).toContain(sha256Hex(key));
        }
      }),
      { numRuns: 25 },
    );
  });

  it("names upstream secrets only as environment variables that njs reads", () => {
    const conf = render(testPlan())["gateway/nginx.conf"]!.contents;
    expect(conf).toMatch(/^env LLM_FLEET_SECRET_CLOUD_KEY;$/m);
    expect(locationBlock(conf, "@fleet_0_t2")).toContain('set $fleet_tier_secret "LLM_FLEET_SECRET_CLOUD_KEY";');
    expect(secretEnvName("openai-key")).toBe("LLM_FLEET_SECRET_OPENAI_KEY");
    expect(keyEnvName("chat-app")).toBe("LLM_FLEET_KEY_CHAT_APP");
  });
});

describe("failover chain", () => {
  it("goes own replicas → each fallback in order → 503/504, each tier with its own name, key and TLS", () => {
    const plan = planFleet(loadSpecFile(path.join(EXAMPLES, "cpu-llamacpp-fallback.yaml")));
    const files = render(plan);
    const conf = files["gateway/nginx.conf"]!.contents;
    const fleet = JSON.parse(files["gateway/fleet.json"]!.contents);
    // The router walks this chain, skipping tiers the key may not use; each tier says where it goes next.
    expect(fleet.models[plan.models[0]!.id].chain.map((t: { location: string }) => t.location)).toEqual(["@fleet_0_t0", "@fleet_0_t1", "@fleet_0_t2"]);
    const t0 = locationBlock(conf, "@fleet_0_t0");
    expect(t0).toContain('set $fleet_tier_model "qwen2.5-7b-cpu";');
    expect(t0).toContain('set $fleet_tier_secret "";');
    expect(t0).toContain("error_page 401 403 404 429 500 501 502 503 505 506 507 508 510 511 520 521 522 523 524 525 526 527 529 530 = $fleet_fail_0;");
    expect(t0).toContain("proxy_set_body $fleet_body_0;");
    const raw = locationBlock(conf, "@fleet_0_t0_raw");
    expect(raw).not.toContain("proxy_set_body");
    const t1 = locationBlock(conf, "@fleet_0_t1");
    expect(t1).toContain('set $fleet_tier_model "gpt-4o-mini";');
    expect(t1).toContain("proxy_pass https://fleet_2_cloud_chat/v1$fleet_endpoint;");
    expect(t1).toContain("proxy_set_header Host api.openai.com;");
    expect(t1).toContain("proxy_ssl_name api.openai.com;");
    expect(t1).toContain("proxy_ssl_verify on;");
    expect(t1).toContain("proxy_set_header Authorization $fleet_auth_1;");
    const t2 = locationBlock(conf, "@fleet_0_t2");
    expect(t2).toContain('set $fleet_tier_model "Qwen/Qwen2.5-7B-Instruct-Turbo";');
    expect(t2).toContain("error_page 401 403 404 429 500 501 502 503 505 506 507 508 510 511 520 521 522 523 524 525 526 527 529 530 = $fleet_fail_2;");
    expect(t2).toContain("error_page 504 = $fleet_timeout_2;");
    expect(conf).toContain("js_var $fleet_fail_2 @fleet_503;");
    expect(conf).toContain("js_var $fleet_timeout_2 @fleet_504;");
    // Streaming settings apply to every tier (server level, no location overrides them).
    expect(conf).toContain("proxy_buffering off;");
    expect(conf).toContain("proxy_read_timeout 900s;");
    expect(conf).not.toMatch(/location[^{]*\{[^}]*proxy_buffering on/);
  });
});

describe("the error-body filter (router.replyBody)", () => {
  const tierBlocks = (conf: string) => [...conf.matchAll(/location (@fleet_\d+_t\d+(?:_raw)?) \{/g)].map((m) => locationBlock(conf, m[1]!));
  it("runs on provider tiers only without metering (the fleet's engines answer errors in JSON), on every tier with it", () => {
    const plain = tierBlocks(render(testPlan())["gateway/nginx.conf"]!.contents);
    expect(plain.length).toBeGreaterThan(4);
    for (const block of plain) {
      expect(block.includes("js_body_filter router.replyBody"), block.split("\n")[0]).toBe(block.includes('set $fleet_tier_external "1";'));
      // Its header filter goes with it: checkErrorReply where the body is checked, checkReply (status line only) elsewhere.
      expect(block.includes("js_header_filter router.checkErrorReply;"), block.split("\n")[0]).toBe(block.includes('set $fleet_tier_external "1";'));
      expect(block.includes("js_header_filter router.checkReply;")).toBe(!block.includes('set $fleet_tier_external "1";'));
    }
    expect(plain.some((b) => b.includes('set $fleet_tier_external "1";'))).toBe(true);
    const metered = tierBlocks(render(testPlan({ metering: true }))["gateway/nginx.conf"]!.contents);
    for (const block of metered) {
      expect(block).toContain("js_body_filter router.replyBody");
      expect(block).toContain("js_header_filter router.checkErrorReply;");
    }
  });
});

describe("refusals", () => {
  const plan = testPlan();
  it.each([
    ["a key without a value", { app: KEYS.app, coder: KEYS.coder }, /gateway\.keys\.tight: no key value given/],
    ["a short key", { ...KEYS, tight: "short" }, /gateway\.keys\.tight: the key must be at least 16 characters/],
    ["two keys with one value", { ...KEYS, tight: KEYS.app }, /gateway\.keys\.tight: has the same value as key "app"/],
    ["a key the spec does not have", { ...KEYS, extra: "sk-extra-0123456789abcdef" }, /client key "extra" is not in gateway\.keys/],
  ])("refuses %s", (_what, clientKeys, message) => {
    expect(() => render(plan, { clientKeys })).toThrow(message);
  });

  it("refuses a CORS origin that is not an origin", () => {
    expect(() => render(testPlan({ corsOrigins: ["https://ok.example.com", "https://x.example.com/path"] }))).toThrow(/corsOrigins: "https:\/\/x\.example\.com\/path" is not an origin/);
  });
});

describe("engine facts come from one table (infra/render/engines.ts)", () => {
  it("probes each replica's health path and sends each engine's Host header as the table says", () => {
    const plan = planFleet(loadSpecFile(path.join(EXAMPLES, "rtx-ollama.yaml")));
    const files = render(plan);
    const fleet = JSON.parse(files["gateway/fleet.json"]!.contents);
    const served = plan.models.filter((m) => m.engine !== "external");
    expect(served.length).toBeGreaterThan(0);
    for (const m of served) {
      const facts = ENGINE_UPSTREAM[m.engine as keyof typeof ENGINE_UPSTREAM];
      for (const probe of fleet.models[m.id].probes as { url: string; host: string }[]) {
        expect(new URL(probe.url).pathname).toBe(facts.healthPath);
        if (facts.upstreamHostHeader) expect(probe.host).toBe(facts.upstreamHostHeader);
      }
      if (facts.upstreamHostHeader) expect(files["gateway/nginx.conf"]!.contents).toContain(`proxy_set_header Host ${facts.upstreamHostHeader};`);
    }
  });
});

describe("the usage log (one list of fields: USAGE_LOG_FIELDS)", () => {
  it("nginx writes every field the usage service requires of a request's line, and no other", () => {
    const files = render(usagePlan(true), { usage: { dir: "/var/lib/llm-fleet/usage" } });
    const format = /log_format fleet_usage escape=json '([^']*)';/.exec(files["gateway/nginx.conf"]!.contents)?.[1];
    expect(format, "the fleet_usage log_format").toBeDefined();
    // As nginx writes it: every variable becomes a string.
    const written = JSON.parse(format!.replace(/\$[a-z_0-9]+/g, "x")) as Record<string, string>;
    const config = JSON.parse(files["gateway/usage/config.json"]!.contents) as { recordFields: string[] };
    expect(Object.keys(written)).toEqual(config.recordFields);
    expect(config.recordFields).toEqual(expect.arrayContaining(["t", "key", "model", "served", "status", "pt", "ct", "usage"]));
  });
});
