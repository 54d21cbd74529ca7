import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { planFleet } from "./fleet";
import { FleetSpecError } from "../spec/errors";
import { loadSpecFile } from "../spec/load";
import { fleet, sshGpuNode, awsNode } from "../../test/support/specs";
import type { FleetSpec } from "../spec/schema";
import type { ServedModelPlan } from "./types";

const vllm = (id: string, hf: string, replicas: unknown[], extra: object = {}) => ({ id, engine: "vllm", source: { hf }, replicas, ...extra });

function issuesOf(spec: () => FleetSpec): { path: string; message: string; fix: string }[] {
  try {
    planFleet(spec());
  } catch (err) {
    if (err instanceof FleetSpecError) return err.issues;
    throw err;
  }
  throw new Error("expected the planner to refuse");
}

const served = (spec: FleetSpec, id: string) => planFleet(spec).models.find((m) => m.id === id) as ServedModelPlan;

describe("vLLM placement", () => {
  it("splits Qwen3-32B-AWQ on [A10G, A10G, L40S] as 16/16/32 with embeddings first and lm_head last", () => {
    const spec = fleet(
      [awsNode("a", "g5.xlarge"), awsNode("b", "g5.xlarge"), awsNode("c", "g6e.xlarge")],
      [vllm("qwen", "Qwen/Qwen3-32B-AWQ", [{ nodes: ["a", "b", "c"] }], { quantization: "awq" })],
    );
    const r = served(spec, "qwen").replicas[0]!;
    expect(r.layerSplit).toEqual([16, 16, 32]);
    expect(r.stages.map((s) => s.layers)).toEqual([[0, 16], [16, 32], [32, 64]]);
    expect(r.stages.map((s) => [s.holdsEmbeddings, s.holdsLmHead])).toEqual([[true, false], [false, false], [false, true]]);
    expect(r.pipelineParallel).toBe(3);
    expect(r.tensorParallel).toBe(1);
    // The checkpoint declares quant_method awq: vLLM reads it (and picks awq_marlin itself); a flag could only conflict.
    expect(r.vllm?.quantization).toBeNull();
  });

  it("accepts the explicit 23-23-22-12 split of R1-Distill-70B-AWQ on 3×L40S + A10G", () => {
    const spec = loadSpecFile("examples/mixed-gpu-vllm.yaml");
    const r = served(spec, "deepseek-r1-70b").replicas[0]!;
    expect(r.layerSplit).toEqual([23, 23, 22, 12]);
    expect(r.stages.map((s) => s.gpuModel)).toEqual(["L40S", "L40S", "L40S", "A10G"]);
    expect(r.contextLength).toBe(32768);
  });

  it("lets the smallest worker bound the whole replica's KV cache", () => {
    const fourth = (t: string) => fleet(
      [awsNode("a", "g6e.xlarge"), awsNode("b", "g6e.xlarge"), awsNode("c", "g6e.xlarge"), awsNode("d", t)],
      [vllm("r1", "casperhansen/deepseek-r1-distill-llama-70b-awq", [{ nodes: ["a", "b", "c", "d"], layerSplit: [23, 23, 22, 12] }], { quantization: "awq", contextLength: 8192 })],
    );
    const withA10G = served(fourth("g5.xlarge"), "r1").replicas[0]!;
    const allL40S = served(fourth("g6e.xlarge"), "r1").replicas[0]!;
    expect(withA10G.kvCacheTokens).toBeLessThan(allL40S.kvCacheTokens);
    // Every stage allocates the same block count: KV per layer is equal on all four.
    const perLayer = withA10G.stages.map((s) => s.kvCacheGiBPerGpu / (s.layers[1] - s.layers[0]));
    for (const x of perLayer) expect(x).toBeCloseTo(perLayer[0]!, 2);
  });

  it("uses tensor parallelism across the GPUs of one node", () => {
    const spec = fleet([awsNode("big", "g6e.12xlarge")], [vllm("r1", "casperhansen/deepseek-r1-distill-llama-70b-awq", [{ nodes: ["big"] }], { quantization: "awq" })]);
    const r = served(spec, "r1").replicas[0]!;
    expect(r.tensorParallel).toBe(4);
    expect(r.stages[0]!.gpus).toEqual([0, 1, 2, 3]);
    expect(r.contextLength).toBe(131072);
    expect(r.maxConcurrentSequences).toBeGreaterThan(1);
  });

  it("picks the largest context that fits when none is given, and says so", () => {
    const spec = fleet([awsNode("l4", "g6.xlarge")], [vllm("llama", "meta-llama/Llama-3.1-8B-Instruct", [{ nodes: ["l4"] }])]);
    const r = served(spec, "llama").replicas[0]!;
    expect(r.contextLength).toBeLessThan(131072);
    expect(r.contextLength).toBeLessThanOrEqual(r.kvCacheTokens);
    expect(r.notes.join(" ")).toMatch(/the most the KV cache holds/);
  });
});

describe("refusals name the spec path, the numbers and a fix", () => {
  it("refuses a model that does not fit", () => {
    const issues = issuesOf(() => fleet([awsNode("l4", "g6.xlarge")], [vllm("big", "meta-llama/Llama-3.3-70B-Instruct", [{ nodes: ["l4"] }])]));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe("models[0].replicas[0].nodes[0]");
    expect(issues[0]!.message).toMatch(/does not fit: .* GiB of weights .* L4 gives 20\.\d+ GiB/);
    expect(issues[0]!.fix).toMatch(/quantize/);
  });
  it("refuses tensor parallelism that does not divide the attention heads", () => {
    const issues = issuesOf(() => fleet([sshGpuNode("box", ["RTX 4090", "RTX 4090", "RTX 4090"])], [vllm("q", "Qwen/Qwen3-32B-AWQ", [{ nodes: ["box"] }], { quantization: "awq" })]));
    expect(issues[0]!.message).toMatch(/attention heads \(64\) must be divisible by tensor parallel size \(3\)/);
    expect(issues[0]!.fix).toMatch(/1, 2, 4, 8, 16/);
  });
  it("refuses tensor parallelism across different GPU models", () => {
    const issues = issuesOf(() => fleet([sshGpuNode("box", ["RTX 4090", "RTX 3090"])], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["box"] }])]));
    expect(issues[0]!.message).toMatch(/different GPU models \(RTX-4090 \+ RTX-3090\)/);
  });
  it("refuses a split that does not sum to the layer count", () => {
    const issues = issuesOf(() =>
      fleet([awsNode("a", "g6e.xlarge"), awsNode("b", "g5.xlarge")], [vllm("q", "Qwen/Qwen3-32B-AWQ", [{ nodes: ["a", "b"], layerSplit: [40, 20] }], { quantization: "awq" })]),
    );
    expect(issues[0]).toMatchObject({ path: "models[0].replicas[0].layerSplit", message: "sums to 60 but the model has 64 layers" });
  });
  it("refuses a context beyond the model's maximum", () => {
    const issues = issuesOf(() => fleet([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }], { contextLength: 65536 })]));
    expect(issues[0]).toMatchObject({ path: "models[0].contextLength", message: "65536 is beyond the model's maximum of 32768 tokens" });
  });
  it("refuses a context whose KV cache does not fit, and suggests fp8", () => {
    const issues = issuesOf(() => fleet([awsNode("a", "g6.xlarge")], [vllm("q", "meta-llama/Llama-3.1-8B-Instruct", [{ nodes: ["a"] }], { contextLength: 131072 })]));
    expect(issues[0]!.message).toMatch(/one 131072-token sequence needs 16 GiB of KV cache/);
    expect(issues[0]!.fix).toMatch(/kvCacheDtype fp8/);
  });
  it("refuses two vLLM replicas that both claim one GPU", () => {
    const issues = issuesOf(() =>
      fleet([sshGpuNode("box", ["L40S"])], [vllm("a", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["box"] }]), vllm("b", "meta-llama/Llama-3.1-8B-Instruct", [{ nodes: ["box"] }])]),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe("nodes[0]");
    expect(issues[0]!.message).toMatch(/GPU 0 of box is shared by vLLM replicas models\[0\]\.replicas\[0\] \(a, [\d.]+ GiB\) and models\[1\]\.replicas\[0\] \(b, [\d.]+ GiB\): together [\d.]+ GiB, but it has 44\.52 GiB/);
  });
  it("lets two replicas share a GPU when their utilizations fit", () => {
    const spec = fleet(
      [sshGpuNode("box", ["L40S"])],
      [vllm("a", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["box"] }], { gpuMemoryUtilization: 0.45 }), vllm("b", "meta-llama/Llama-3.1-8B-Instruct", [{ nodes: ["box"] }], { gpuMemoryUtilization: 0.45 })],
    );
    const plan = planFleet(spec);
    expect(plan.nodes[0]!.placements.map((p) => p.port)).toEqual([8000, 8001]);
  });
  it("reports every problem at once", () => {
    const issues = issuesOf(() =>
      fleet(
        [awsNode("a", "g6.xlarge"), awsNode("b", "g6e.xlarge")],
        [
          vllm("x", "meta-llama/Llama-3.3-70B-Instruct", [{ nodes: ["a"] }]),
          vllm("y", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["b"] }], { contextLength: 99999 }),
        ],
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(["models[0].replicas[0].nodes[0]", "models[1].contextLength"]);
  });
});

describe("llama.cpp and Ollama offload", () => {
  it("puts all 63 slots of deepseek-coder-33b Q4_0 on a 24 GB RTX 4090 at 8k context", () => {
    const m = served(loadSpecFile("examples/rtx-ollama.yaml"), "deepseek-coder-33b");
    const r = m.replicas[0]!;
    expect(r.totalLayers).toBe(63); // 62 layers + the output layer
    expect(r.gpuLayers).toBe(63);
    expect(r.ollama).toMatchObject({ numGpu: 63, numCtx: 8192, numParallel: 2, kvCacheType: "q8_0", flashAttention: true });
    expect(r.gpuFraction).toBe(1);
  });
  it("offloads partially when VRAM is short, and reports the GPU share like `ollama ps`", () => {
    const spec = fleet(
      [sshGpuNode("box", ["RTX 5070 Ti"], { cores: 8, memoryGiB: 64, bandwidthGBs: 89.6 })],
      [{ id: "coder", engine: "ollama", source: { ollama: "deepseek-coder:33b" }, contextLength: 4096, replicas: [{ nodes: ["box"] }] }],
    );
    const r = served(spec, "coder").replicas[0]!;
    expect(r.gpuLayers).toBeGreaterThan(30);
    expect(r.gpuLayers).toBeLessThan(63);
    expect(r.gpuFraction).toBeGreaterThan(0.5);
    expect(r.gpuFraction).toBeLessThan(1);
    expect(r.stages[0]!.gpus).toEqual([]); // the first layers stay in RAM
    // Layers in RAM are read at 89.6 GB/s instead of 896: well under half the all-GPU speed of the same model on a 4090.
    const onGpu = served(loadSpecFile("examples/rtx-ollama.yaml"), "deepseek-coder-33b").replicas[0]!;
    expect(r.decodeTokensPerSecond).toBeLessThan(onGpu.decodeTokensPerSecond / 2);
  });
  it("predicts a slow 7B on a CPU box before anything is bought", () => {
    const r = served(loadSpecFile("examples/cpu-llamacpp-fallback.yaml"), "qwen2.5-7b-cpu").replicas[0]!;
    expect(r.gpuLayers).toBe(0);
    expect(r.decodeTokensPerSecond).toBeGreaterThan(8);
    expect(r.decodeTokensPerSecond).toBeLessThan(15); // 51.2 GB/s over ~4.6 GB of Q4_K_M weights
    expect(r.llamacpp).toMatchObject({ ctxSize: 16384, parallel: 2, threads: 8, nGpuLayers: 0, flashAttention: true });
  });
  it("refuses a model that fits neither VRAM nor RAM", () => {
    const issues = issuesOf(() =>
      fleet([sshGpuNode("tiny", [], { cores: 4, memoryGiB: 8, bandwidthGBs: 40 })], [{ id: "big", engine: "llamacpp", source: { gguf: { repo: "TheBloke/deepseek-coder-33B-instruct-GGUF", file: "deepseek-coder-33b-instruct.Q4_K_M.gguf" } }, contextLength: 4096, replicas: [{ nodes: ["tiny"] }] }]),
    );
    expect(issues[0]!.message).toMatch(/does not fit: 62 of 62 layers.* GiB of RAM on tiny; 6 GiB is free/);
  });
});

describe("properties", () => {
  const pairs: [string, string][] = [["g6.xlarge", "g6e.xlarge"], ["g5.xlarge", "g6e.xlarge"], ["g5.xlarge", "p5.4xlarge"], ["g6.xlarge", "p4de.24xlarge"]];
  const models = ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen3-32B-AWQ", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"];
  const tryPlan = (spec: () => FleetSpec) => {
    try {
      return planFleet(spec()).models[0] as ServedModelPlan;
    } catch (err) {
      if (err instanceof FleetSpecError) return null;
      throw err;
    }
  };

  it("more GPU memory never lowers the max context", () => {
    let planned = 0;
    fc.assert(
      fc.property(fc.constantFrom(...pairs), fc.constantFrom(...models), fc.double({ min: 0.5, max: 0.95, noNaN: true }), ([small, large], hf, util) => {
        const make = (t: string) => () => fleet([awsNode("n", t)], [vllm("m", hf, [{ nodes: ["n"], gpus: [0] }], { gpuMemoryUtilization: util, ...(hf.endsWith("AWQ") ? { quantization: "awq" } : {}) })]);
        const a = tryPlan(make(small));
        const b = tryPlan(make(large));
        if (a) expect(b).not.toBeNull();
        if (a && b) {
          planned++;
          expect(b.replicas[0]!.kvCacheTokens).toBeGreaterThanOrEqual(a.replicas[0]!.kvCacheTokens);
          expect(b.contextLength).toBeGreaterThanOrEqual(a.contextLength);
        }
      }),
      { numRuns: 60 },
    );
    // Not vacuous: many generated fleets fit on both GPUs (Qwen3-32B-AWQ fits neither L4 nor A10G).
    expect(planned).toBeGreaterThan(15);
  });

  it("more RAM never lowers the context of a CPU llama.cpp model", () => {
    let planned = 0;
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 64 }), fc.integer({ min: 1, max: 64 }), (ram, extra) => {
        const make = (gib: number) => () => fleet([sshGpuNode("cpu", [], { cores: 8, memoryGiB: gib, bandwidthGBs: 50 })], [{ id: "m", engine: "llamacpp", source: { gguf: { repo: "TheBloke/CodeLlama-7B-Instruct-GGUF", file: "codellama-7b-instruct.Q4_K_M.gguf" } }, replicas: [{ nodes: ["cpu"] }] }]);
        const a = tryPlan(make(ram));
        const b = tryPlan(make(ram + extra));
        if (a) {
          planned++;
          expect(b?.contextLength ?? 0).toBeGreaterThanOrEqual(a.contextLength);
        }
      }),
      { numRuns: 40 },
    );
    expect(planned).toBeGreaterThan(20);
  });

  it("every planned split sums to the layer count and every stage fits its budget", () => {
    let planned = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom("g5.xlarge", "g6.xlarge", "g6e.xlarge", "g6e.2xlarge"), { minLength: 1, maxLength: 4 }), fc.constantFrom(...models), (types, hf) => {
        const nodes = types.map((t, i) => awsNode(`n${i}`, t));
        const m = tryPlan(() => fleet(nodes, [vllm("m", hf, [{ nodes: nodes.map((n) => n.name) }], hf.endsWith("AWQ") ? { quantization: "awq" } : {})]));
        if (!m) return;
        planned++;
        const r = m.replicas[0]!;
        expect(r.layerSplit.reduce((s, n) => s + n, 0)).toBe(m.arch.numLayers);
        for (const s of r.stages) expect(s.weightsGiBPerGpu + s.kvCacheGiBPerGpu).toBeLessThanOrEqual(s.budgetGiBPerGpu);
      }),
      { numRuns: 60 },
    );
    expect(planned).toBeGreaterThan(30);
  });

  it("reordering a spec's models changes no model's plan (or the same conflict is refused)", () => {
    const box = sshGpuNode("box", ["RTX 4090", "RTX 4090"], { cores: 16, memoryGiB: 64, bandwidthGBs: 80 });
    const tiny = "TinyLlama/TinyLlama-1.1B-Chat-v1.0";
    const candidates = [
      vllm("tiny-a", tiny, [{ nodes: ["box"], gpus: [0] }], { gpuMemoryUtilization: 0.4 }),
      vllm("tiny-b", tiny, [{ nodes: ["box"], gpus: [0] }], { gpuMemoryUtilization: 0.4 }),
      vllm("greedy", tiny, [{ nodes: ["box"], gpus: [0] }], { gpuMemoryUtilization: 0.5 }),
      vllm("tiny-c", tiny, [{ nodes: ["box"], gpus: [1] }], { gpuMemoryUtilization: 0.3 }),
      { id: "coder", engine: "ollama", source: { ollama: "deepseek-coder:33b" }, contextLength: 4096, replicas: [{ nodes: ["box"], gpus: [1] }] },
      { id: "small", engine: "llamacpp", source: { gguf: { repo: "TheBloke/deepseek-coder-1.3b-instruct-GGUF", file: "deepseek-coder-1.3b-instruct.Q4_K_M.gguf" } }, contextLength: 4096, replicas: [{ nodes: ["box"], gpus: [1] }] },
    ];
    const outcome = (models: unknown[]) => {
      try {
        const plan = planFleet(fleet([box], models));
        return { plans: Object.fromEntries(plan.models.map((m) => [m.id, m])), conflict: null };
      } catch (err) {
        if (!(err instanceof FleetSpecError)) throw err;
        // Paths name the spec index, which moves with the order: compare what the refusal names instead.
        return { plans: null, conflict: err.issues.map((i) => i.message.replace(/models\[\d+\]\.replicas\[\d+\] /g, "")).sort() };
      }
    };
    let planned = 0;
    fc.assert(
      fc.property(fc.subarray(candidates, { minLength: 2 }).chain((picked) => fc.tuple(fc.constant(picked), fc.shuffledSubarray(picked, { minLength: picked.length, maxLength: picked.length }))), ([picked, shuffled]) => {
        const a = outcome(picked);
        const b = outcome(shuffled);
        expect(b).toEqual(a);
        if (a.plans) planned++;
      }),
      { numRuns: 60 },
    );
    expect(planned).toBeGreaterThan(10);
    // tiny-a + tiny-b + greedy ask for 1.3 × GPU 0: refused alike in every order, naming all three.
    const conflict = [candidates[2]!, candidates[0]!, candidates[1]!];
    const refusals = [conflict, [...conflict].reverse(), [conflict[1]!, conflict[2]!, conflict[0]!]].map(outcome);
    for (const r of refusals) expect(r).toEqual(refusals[0]);
    expect(refusals[0]!.conflict?.join(" ")).toMatch(/greedy.*tiny-a.*tiny-b/);
  });
});

describe("idle machines", () => {
  it("refuses an AWS node that runs no model", () => {
    const issues = issuesOf(() => fleet([awsNode("used", "g6.xlarge"), awsNode("idle", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["used"] }])]));
    expect(issues).toEqual([{ path: "nodes[1]", message: 'AWS node "idle" runs no model but would be billed by the hour', fix: "place a replica on it or remove the node" }]);
  });
});

describe("GPUs shared with a desktop", () => {
  const coder = { id: "coder", engine: "ollama", source: { ollama: "deepseek-coder:33b" }, contextLength: 8192, replicas: [{ nodes: ["box"] }] };
  it("plans around the VRAM other programs hold", () => {
    const free = served(fleet([sshGpuNode("box", ["RTX 4090"], { cores: 8, memoryGiB: 64, bandwidthGBs: 80 })], [coder]), "coder").replicas[0]!;
    const busy = served(fleet([{ ...sshGpuNode("box", ["RTX 4090"], { cores: 8, memoryGiB: 64, bandwidthGBs: 80 }), gpuMemoryInUseMiB: 5000 }], [coder]), "coder").replicas[0]!;
    expect(free.gpuLayers).toBe(63);
    expect(busy.gpuLayers).toBeLessThan(63);
  });
  it("lets vLLM refuse a utilization the free memory cannot give, as vLLM does at start", () => {
    const issues = issuesOf(() => fleet([{ ...sshGpuNode("box", ["RTX 4090"]), gpuMemoryInUseMiB: 4000 }], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["box"] }])]));
    // RTX 4090: CUDA total 23.52 GiB − 4000 MiB = 19.61 GiB; 0.92 × 23.52 = 21.64 GiB must be free at start.
    expect(issues[0]!.message).toMatch(/GPU 0 of box has 19\.61 GiB free after the 4000 MiB other programs hold, but vLLM needs 21\.64 GiB free at start/);
  });
});

describe("GPU generations", () => {
  it("serves an AWQ checkpoint on T4s (vLLM's AWQ kernels need compute capability 7.5) without a --quantization flag", () => {
    const r = served(fleet([sshGpuNode("old", ["T4", "T4"])], [vllm("q", "Qwen/Qwen3-32B-AWQ", [{ nodes: ["old"] }], { quantization: "awq", contextLength: 2048 })]), "q").replicas[0]!;
    expect(r.tensorParallel).toBe(2);
    expect(r.vllm?.quantization).toBeNull();
  });
  it("refuses AWQ for a checkpoint that is not AWQ: vLLM cannot quantize to it while loading", () => {
    const issues = issuesOf(() => fleet([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }], { quantization: "awq" })]));
    expect(issues).toEqual([expect.objectContaining({ path: "models[0].quantization", message: expect.stringMatching(/vLLM loads awq only from a checkpoint quantized that way/) })]);
  });
  it("refuses MXFP4 (gpt-oss) on a T4: vLLM's mxfp4 kernels need compute capability 8.0", () => {
    const issues = issuesOf(() => fleet([sshGpuNode("old", ["T4", "T4"])], [vllm("oss", "openai/gpt-oss-20b", [{ nodes: ["old"] }])]));
    expect(issues).toEqual([expect.objectContaining({ path: "models[0].quantization", message: expect.stringMatching(/mxfp4 kernels need compute capability 8\.0; T4 is 7\.5/) })]);
  });
  it("refuses fp8 weights on Ampere", () => {
    const issues = issuesOf(() => fleet([awsNode("amp", "g5.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["amp"] }], { quantization: "fp8" })]));
    expect(issues[0]).toMatchObject({ path: "models[0].quantization", message: expect.stringMatching(/fp8 weights need FP8 tensor cores; A10G has none/) });
  });
  it("quantizes a 16-bit checkpoint to fp8 while loading (--quantization fp8), and passes nothing for an FP8 checkpoint", () => {
    const online = served(fleet([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }], { quantization: "fp8" })]), "q").replicas[0]!;
    expect(online.vllm?.quantization).toBe("fp8");
    const prequantized = served(fleet([awsNode("a", "g6e.xlarge")], [vllm("c", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8", [{ nodes: ["a"] }])]), "c").replicas[0]!;
    expect(prequantized.vllm?.quantization).toBeNull();
  });
});

describe("model ids named like Object.prototype members", () => {
  it("plans models named valueOf and toString, with and without fallbacks, with their own tiers only", () => {
    const spec = fleet(
      [sshGpuNode("box", ["L4", "L4"])],
      [
        vllm("valueOf", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["box"], gpus: [0] }]),
        vllm("toString", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["box"], gpus: [1] }]),
      ],
      { fallbacks: { toString: ["valueOf"] } },
    );
    const plan = planFleet(spec);
    expect(plan.models.map((m) => [m.id, m.tiers, m.anyKeyTiers])).toEqual([["valueOf", [], []], ["toString", ["valueOf"], []]]);
  });
});
