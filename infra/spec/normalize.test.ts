/**
 * Spellings users already write, messages that show what they got, defaults filled once, and a
 * spec that plans before it has a gateway.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { planFleet } from "../plan";
import { renderGateway } from "../render/gateway";
import { FleetSpecError } from "./errors";
import { loadSpecFile } from "./load";
import { parseFleetSpec } from "./parse";

const EXAMPLES = fs.readdirSync("examples").filter((f) => f.endsWith(".yaml")).map((f) => path.join("examples", f));
const raw = (file: string) => parseYaml(fs.readFileSync(file, "utf8")) as Record<string, unknown> & { models: Record<string, unknown>[]; nodes: Record<string, unknown>[] };

function issues(spec: unknown) {
  try {
    parseFleetSpec(spec);
  } catch (err) {
    if (err instanceof FleetSpecError) return err.issues;
    throw err;
  }
  throw new Error("expected the spec to be refused");
}

const CPU = "examples/cpu-llamacpp-fallback.yaml";
const withModel0 = (file: string, fields: Record<string, unknown>) => {
  const r = raw(file);
  return { ...r, models: [{ ...r.models[0], ...fields }, ...r.models.slice(1)] };
};

describe("quantization and KV cache spellings", () => {
  it.each([
    ["q4_k_m", "Q4_K_M"],
    ["Q4_k_m", "Q4_K_M"],
    ["q8_0", "Q8_0"],
    ["q4_0", "Q4_0"],
  ])("quantization %s plans exactly as %s", (given, canonical) => {
    const source = { gguf: { repo: "Qwen/Qwen2.5-7B-Instruct-GGUF", file: `qwen2.5-7b-instruct-${canonical.toLowerCase()}.gguf` } };
    const plan = (q: string) => planFleet(parseFleetSpec(withModel0(CPU, { source, quantization: q })));
    const lower = plan(given);
    expect(lower.models[0]!.engine !== "external" && lower.models[0]!.quantization).toBe(canonical);
    expect(lower).toEqual(plan(canonical));
  });

  it.each([
    ["Q8_0", "q8_0"],
    ["F16", "fp16"],
    ["Auto", "auto"],
  ])("kvCacheDtype %s is %s", (given, canonical) => {
    const spec = parseFleetSpec(withModel0(CPU, { kvCacheDtype: given }));
    expect(spec.models[0]!.engine !== "external" && spec.models[0]!.kvCacheDtype).toBe(canonical);
    expect(planFleet(spec)).toEqual(planFleet(parseFleetSpec(withModel0(CPU, { kvCacheDtype: canonical }))));
  });

  it("a value that matches nothing names what it got and the closest valid value", () => {
    const [q] = issues(withModel0(CPU, { quantization: "Q4_K_X" }));
    expect(q).toMatchObject({ path: "models[0].quantization", message: 'string "Q4_K_X" is not allowed; did you mean "Q4_K_M"?' });
    expect(q!.fix).toMatch(/use one of "bf16", .*"Q4_K_M"/);
    const [kv] = issues(withModel0(CPU, { kvCacheDtype: "q9_0" }));
    expect(kv!.message).toMatch(/string "q9_0" is not allowed; did you mean "q8_0"\?/);
  });

  it("a mistyped provider or engine is shown with the closest one", () => {
    const r = raw(CPU);
    const found = issues({ ...r, nodes: [{ ...r.nodes[0], provider: "shh" }], models: [{ ...r.models[0], engine: "llama.cpp" }, ...r.models.slice(1)] });
    expect(found.find((i) => i.path === "nodes[0].provider")?.message).toBe('string "shh" is not a known provider; did you mean "ssh"?');
    expect(found.find((i) => i.path === "models[0].engine")?.message).toBe('string "llama.cpp" is not a known engine; did you mean "llamacpp"?');
  });

  it("a value out of bounds is shown", () => {
    const [i] = issues(withModel0(CPU, { contextLength: 0 }));
    expect(i).toMatchObject({ path: "models[0].contextLength", message: "number 0: must be more than 0" });
    // Said from zod's bound (data), not from its English message.
    expect(issues(withModel0(CPU, { gpuMemoryUtilization: 0.99, replicas: [] })).map((x) => [x.path, x.message])).toEqual([
      ["models[0].gpuMemoryUtilization", "number 0.99: must be at most 0.98"],
      ["models[0].replicas", "a list: must have at least 1 item"],
    ]);
  });
});

describe("normalizeSpec", () => {
  it.each(EXAMPLES)("%s: the normalized spec is a valid spec that normalizes to itself", (file) => {
    const once = loadSpecFile(file);
    expect(parseFleetSpec(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it("fills every default once, so the plan carries the values", () => {
    const plan = planFleet(loadSpecFile("examples/rtx-ollama.yaml"));
    expect(plan.gateway).toMatchObject({ maxBodyMiB: 8, readTimeoutSeconds: 300, host: "rtx-box", routes: {}, corsOrigins: [], allowedCidrs: ["0.0.0.0/0"] });
    expect(plan.region).toBe("us-east-1");
    expect(plan.nodes[0]!.spec).toMatchObject({ address: "192.168.1.40", costPerHourUSD: 0, labels: {} });
    const ssh = planFleet(loadSpecFile("examples/l4-pair-text2sql.yaml")).nodes[0]!.spec;
    expect(ssh).toMatchObject({ port: 22, address: "10.20.0.15" });
    const aws = planFleet(loadSpecFile("examples/mixed-gpu-vllm.yaml")).nodes[0]!.spec;
    expect(aws).toMatchObject({ provider: "aws", spot: false, labels: {} });
    const coder = planFleet(loadSpecFile(CPU)).models.find((m) => m.id === "coder-1.3b")!;
    expect(coder.display).toEqual({ name: "DeepSeek Coder 1.3B (CPU)", tags: [], capabilities: ["code"] });
    expect({ aliases: coder.aliases, sampling: coder.sampling, weights: coder.replicas.map((r) => r.weight) }).toEqual({ aliases: [], sampling: {}, weights: [1] });
  });
});

describe("a spec without a gateway", () => {
  const noGateway = () => {
    const { gateway: _g, ...r } = raw("examples/l4-pair-text2sql.yaml");
    return r;
  };

  it("plans", () => {
    const plan = planFleet(parseFleetSpec(noGateway()));
    expect(plan.gateway).toBeNull();
    expect(plan.models.map((m) => m.id)).toEqual(["qwen2.5-7b", "arctic-text2sql"]);
  });

  it("cannot render a gateway, and says what to add", () => {
    const plan = planFleet(parseFleetSpec(noGateway()));
    try {
      renderGateway(plan, { clientKeys: {}, listen: { address: "127.0.0.1", port: 8080 }, nginx: "debian", resolver: [] });
      throw new Error("expected a refusal");
    } catch (err) {
      expect(err).toBeInstanceOf(FleetSpecError);
      expect((err as FleetSpecError).issues).toEqual([
        expect.objectContaining({ path: "gateway", message: expect.stringMatching(/^is missing: rendering the gateway needs the gateway's client keys, rate classes and per-IP limit/), fix: expect.stringMatching(/^add gateway: \{ keys:/) }),
      ]);
    }
  });
});

describe("CPU memory bandwidth", () => {
  it("when not given, the plan assumes the documented figure and says which field to set", () => {
    const r = raw(CPU);
    const without = { ...r, nodes: [{ ...r.nodes[0], cpu: { cores: 8, memoryGiB: 32 } }] };
    const assumed = planFleet(parseFleetSpec(without));
    const given = planFleet(parseFleetSpec(r)); // the example states 51.2 GB/s
    const notes = assumed.models.flatMap((m) => m.replicas.flatMap((x) => x.notes));
    expect(notes).toContain("assumed 51.2 GB/s CPU memory bandwidth on cpu-box for the decode bound: set nodes[0].cpu.bandwidthGBs");
    expect(given.models.flatMap((m) => m.replicas.flatMap((x) => x.notes)).join("\n")).not.toMatch(/assumed/);
    expect(assumed.models[0]!.replicas[0]!.decodeTokensPerSecond).toBe(given.models[0]!.replicas[0]!.decodeTokensPerSecond);
  });
});
