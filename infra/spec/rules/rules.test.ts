/**
 * Every spec rule with a spec it accepts and one it refuses (as cdk-nag tests its rules). The
 * table is keyed by SPEC_RULES: a rule added without cases does not compile.
 */
import { describe, expect, it } from "vitest";
import { FleetSpecError } from "../errors";
import { normalizeSpec } from "../normalize";
import { parseFleetSpec } from "../parse";
import { FleetSpec as FleetSpecSchema, MAX_TIERS } from "../schema";
import { SPEC_RULES, type SpecRuleName } from ".";

const GATEWAY = {
  keys: { app: { models: ["*"], rateClass: "std" } },
  rateClasses: { std: { requestsPerMinute: 60, burst: 10, concurrency: 4 } },
  perIp: { requestsPerMinute: 120, burst: 20 },
};
const aws = (name: string) => ({ name, provider: "aws", instanceType: "g6e.xlarge" });
const ssh = (name: string) => ({ name, provider: "ssh", host: `ops@${name}`, gpus: ["L40S"] });
const docker = (name: string) => ({ name, provider: "docker", host: `ssh://ops@${name}`, gpus: ["L40S"] });
const vllm = (id: string, nodes: string[], extra: object = {}) => ({ id, engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes }], ...extra });
const llama = (id: string, replica: object) => ({ id, engine: "llamacpp", source: { gguf: { repo: "a/b", file: "m.gguf" } }, replicas: [replica] });
const external = (id: string) => ({ id, engine: "external", url: "https://api.example.com/v1", upstreamModel: "big" });

/** A shape-valid spec (the rules run after the schema), with overrides. */
const fleet = (parts: Record<string, unknown>) => normalizeSpec(FleetSpecSchema.parse({ name: "t", nodes: [aws("a")], models: [vllm("m", ["a"])], gateway: GATEWAY, ...parts }));

const CASES: { [R in SpecRuleName]: { pass: Record<string, unknown>; fail: Record<string, unknown>; path: string; message: RegExp } } = {
  nodeNamesUnique: { pass: {}, fail: { nodes: [aws("a"), ssh("a")] }, path: "nodes[1].name", message: /"a" is used by two nodes/ },
  nodeNameNotReserved: { pass: {}, fail: { nodes: [aws("gateway")], models: [vllm("m", ["gateway"])] }, path: "nodes[0].name", message: /reserved/ },
  modelNamesUnique: { pass: { models: [vllm("m", ["a"], { aliases: ["chat"] })] }, fail: { models: [vllm("m", ["a"]), vllm("n", ["a"], { aliases: ["m"] })] }, path: "models[1].aliases[0]", message: /already the name or alias of models\[0\]\.id/ },
  replicaNodesExist: { pass: {}, fail: { models: [vllm("m", ["a", "b"])] }, path: "models[0].replicas[0].nodes[1]", message: /no node named "b"/ },
  engineLoadsSource: { pass: { nodes: [ssh("a")], models: [llama("m", { nodes: ["a"] })] }, fail: { models: [{ ...llama("m", { nodes: ["a"] }), source: { hf: "a/b" } }] }, path: "models[0].source", message: /engine llamacpp cannot load a hf source/ },
  replicaNodesDistinct: { pass: { nodes: [aws("a"), aws("b")], models: [vllm("m", ["a", "b"])] }, fail: { models: [vllm("m", ["a", "a"])] }, path: "models[0].replicas[0].nodes", message: /a node appears twice/ },
  replicaGpusOneNode: {
    pass: { models: [{ ...vllm("m", []), replicas: [{ nodes: ["a"], gpus: [0] }] }] },
    fail: { nodes: [aws("a"), aws("b")], models: [{ ...vllm("m", []), replicas: [{ nodes: ["a", "b"], gpus: [0] }] }] },
    path: "models[0].replicas[0].gpus",
    message: /one-node replica/,
  },
  layerSplitPerStage: {
    pass: { nodes: [aws("a"), aws("b")], models: [{ ...vllm("m", []), replicas: [{ nodes: ["a", "b"], layerSplit: [14, 14] }] }] },
    fail: { nodes: [aws("a"), aws("b")], models: [{ ...vllm("m", []), replicas: [{ nodes: ["a", "b"], layerSplit: [28] }] }] },
    path: "models[0].replicas[0].layerSplit",
    message: /has 1 entries for 2 pipeline stages/,
  },
  oneMachineEngines: { pass: { nodes: [ssh("a")], models: [llama("m", { nodes: ["a"] })] }, fail: { nodes: [ssh("a"), ssh("b")], models: [llama("m", { nodes: ["a", "b"] })] }, path: "models[0].replicas[0].nodes", message: /llamacpp runs a replica on one machine; 2 nodes given/ },
  pipelineOneNetwork: { pass: { nodes: [ssh("a"), ssh("b")], models: [vllm("m", ["a", "b"])] }, fail: { nodes: [aws("a"), ssh("b")], models: [vllm("m", ["a", "b"])] }, path: "models[0].replicas[0].nodes", message: /mixes AWS instances with your own hosts/ },
  awsNodesServe: { pass: {}, fail: { nodes: [aws("a"), aws("idle")] }, path: "nodes[1]", message: /AWS node "idle" runs no model but would be billed by the hour/ },
  fallbacksKnown: {
    pass: { models: [vllm("m", ["a"]), external("cloud"), external("other")], fallbacks: { m: ["cloud", { model: "other", anyKey: true }] } },
    fail: { models: [vllm("m", ["a"]), external("cloud")], fallbacks: { m: ["cloud", { model: "ghost", anyKey: true }] } },
    path: "fallbacks.m[1]",
    message: /no model "ghost"/,
  },
  gatewayKeysKnown: { pass: {}, fail: { gateway: { ...GATEWAY, keys: { app: { models: ["m"], rateClass: "gold" } } } }, path: "gateway.keys.app.rateClass", message: /no rate class "gold"/ },
  gatewayRoutesValid: { pass: { gateway: { ...GATEWAY, routes: { "/chat": "m" } } }, fail: { gateway: { ...GATEWAY, routes: { "/v1/chat": "m" } } }, path: 'gateway.routes["/v1/chat"]', message: /collides with a gateway endpoint/ },
  usageNeedsMetering: {
    pass: { gateway: { ...GATEWAY, metering: true, keys: { app: { models: ["*"], rateClass: "std", quota: { tokensPerDay: 1000 } } } } },
    fail: { gateway: { ...GATEWAY, keys: { app: { models: ["*"], rateClass: "std", quota: { tokensPerDay: 1000 } } } } },
    path: "gateway.keys.app.quota",
    message: /a quota without metering would never be enforced/,
  },
  metricsCidrsValid: { pass: { gateway: { ...GATEWAY, metering: true, metricsCidrs: ["10.0.0.0/16"] } }, fail: { gateway: { ...GATEWAY, metering: true, metricsCidrs: ["10.0.0.300/16"] } }, path: "gateway.metricsCidrs[0]", message: /"10\.0\.0\.300\/16" has an octet above 255/ },
  allowedCidrsValid: { pass: { gateway: { ...GATEWAY, allowedCidrs: ["203.0.113.0/24", "198.51.100.7/32"] } }, fail: { gateway: { ...GATEWAY, allowedCidrs: ["203.0.113.0/24", "203.0.113.7"] } }, path: "gateway.allowedCidrs[1]", message: /"203\.0\.113\.7" is a bare address without a prefix length/ },
  secretNamesNotReserved: {
    pass: { models: [vllm("m", ["a"]), { ...external("cloud"), apiKeySecret: "cloud-key" }], hfTokenSecret: "hf-token" },
    fail: { models: [vllm("m", ["a"]), { ...external("cloud"), apiKeySecret: "engine-api-key" }] },
    path: "models[1].apiKeySecret",
    message: /"engine-api-key" is a secret the program makes itself/,
  },
  gatewayHostValid: { pass: { nodes: [docker("desk")], models: [vllm("m", ["desk"])], gateway: { ...GATEWAY, host: "desk" } }, fail: { gateway: { ...GATEWAY, host: "nowhere" } }, path: "gateway.host", message: /no node named "nowhere"/ },
};

describe.each(Object.keys(SPEC_RULES) as SpecRuleName[])("rule %s", (rule) => {
  const c = CASES[rule];
  it("accepts a spec that keeps it", () => {
    expect(SPEC_RULES[rule](fleet(c.pass))).toEqual([]);
  });
  it("refuses one that breaks it, naming the path and a fix", () => {
    const issues = SPEC_RULES[rule](fleet(c.fail));
    expect(issues).toEqual([expect.objectContaining({ path: c.path, message: expect.stringMatching(c.message) })]);
    expect(issues[0]!.fix.length).toBeGreaterThan(5);
  });
});

describe("every rule at once", () => {
  it("holds for a spec without a gateway (planning comes first)", () => {
    const spec = fleet({ gateway: undefined });
    for (const rule of Object.values(SPEC_RULES)) expect(rule(spec)).toEqual([]);
  });
});

describe("secret names the program owns", () => {
  it("are refused where the spec names them, so `fleet plan` and `fleet gateway` refuse what `pulumi up` did", () => {
    const spec = {
      name: "t", nodes: [aws("a")], models: [vllm("m", ["a"]), { ...external("cloud"), apiKeySecret: "engine-api-key" }], hfTokenSecret: "gateway-files",
      gateway: { ...GATEWAY, tls: { certificateSecret: "gateway-tls-certificate", keySecret: "gateway-tls-key" } },
    };
    let thrown: unknown;
    try {
      parseFleetSpec(spec, "spec.yaml");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FleetSpecError);
    expect((thrown as FleetSpecError).issues.map((i) => i.path)).toEqual(["hfTokenSecret", "models[1].apiKeySecret", "gateway.tls.certificateSecret", "gateway.tls.keySecret"]);
  });
});

describe("names that every object inherits", () => {
  it("a key's rate class named like an Object.prototype member (toString, constructor) that the spec lacks is refused, not a key without limits", () => {
    for (const rateClass of ["toString", "constructor", "__proto__"]) {
      const issues = SPEC_RULES.gatewayKeysKnown(fleet({ gateway: { ...GATEWAY, keys: { app: { models: ["*"], rateClass } } } }));
      expect(issues, rateClass).toEqual([expect.objectContaining({ path: "gateway.keys.app.rateClass", message: `no rate class "${rateClass}"` })]);
    }
  });
});

describe("a fallback chain longer than the gateway can try", () => {
  const chain = (fallbacks: number) => fleet({ models: [vllm("m", ["a"]), ...Array.from({ length: fallbacks }, (_, i) => external(`e${i}`))], fallbacks: { m: Array.from({ length: fallbacks }, (_, i) => `e${i}`) } });
  it(`is refused past ${MAX_TIERS} tiers, naming the model's fallbacks and how many to keep`, () => {
    expect(SPEC_RULES.fallbacksKnown(chain(MAX_TIERS - 1))).toEqual([]);
    expect(SPEC_RULES.fallbacksKnown(chain(MAX_TIERS))).toEqual([expect.objectContaining({ path: "fallbacks.m", message: expect.stringMatching(/m has 9 tiers .* at most 8 per request/), fix: "keep at most 7 fallbacks for m" })]);
  });
});
