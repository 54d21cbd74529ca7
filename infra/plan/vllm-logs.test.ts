/**
 * Each supported vLLM version's accounting, pinned to the published start-up logs it was checked
 * against (reference/datapoints.json cites each). A log is matched at the level it can be: through
 * planFleet when the spec can say everything the run set, else through the accounting functions with
 * the run's own settings (max_num_batched_tokens, MXFP4 backend) named in the test.
 */
import { describe, expect, it } from "vitest";
import { findModel } from "../catalog/models";
import { GPUS } from "../catalog/gpus";
import { SAMPLER_BYTES_PER_LOGIT, VLLM_ACCOUNTING } from "../catalog/vllm-versions";
import { FleetSpecError } from "../spec/errors";
import { awsNode, fleet, sshGpuNode } from "../../test/support/specs";
import { GiB, weightBytes } from "./arch";
import { planFleet } from "./fleet";
import type { ServedModelPlan } from "./types";
import { activationPeakBytes, kvCacheTokens, kvLayout, workerBlocks, workerMemory } from "./vllm-memory";

const within = (planned: number, logged: number, tolerance: number) => Math.abs(planned / logged - 1) <= tolerance;

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof FleetSpecError) return err.issues.map((i) => i.message).join("\n");
    throw err;
  }
  throw new Error("expected a refusal");
}

const gptOss120 = findModel("openai/gpt-oss-120b")!.arch;
const marlin = { hiddenAlign: 256, intermediateAlign: 128, tensorParallel: 1 };
const fullWeights = (w: ReturnType<typeof weightBytes>, layers: number) => layers * w.layer + w.embeddings + w.lmHead;

describe("weights vLLM logged (within 1 %)", () => {
  it("gpt-oss-120b MXFP4 on one H100 through Marlin: 65.9651 GiB (vllm#23278, v0.10.1)", () => {
    const gib = fullWeights(weightBytes(gptOss120, "mxfp4", undefined, marlin), 36) / GiB;
    expect(within(gib, 65.9651, 0.01)).toBe(true);
  });
  it("gpt-oss-120b MXFP4 on one H100 through Triton: 64.38 GiB (vllm#33155, v0.14.1)", () => {
    const gib = fullWeights(weightBytes(gptOss120, "mxfp4", undefined, { hiddenAlign: 256, intermediateAlign: 64, tensorParallel: 1 }), 36) / GiB;
    expect(within(gib, 64.38, 0.01)).toBe(true);
  });
  it("the plan for the pinned image uses the Triton layout on H100 and Marlin's on other GPUs", () => {
    const h100 = planFleet(fleet([awsNode("h", "p5.4xlarge")], [{ id: "oss", engine: "vllm", source: { hf: "openai/gpt-oss-120b" }, gpuMemoryUtilization: 0.95, contextLength: 8192, replicas: [{ nodes: ["h"] }] }]));
    const r = (h100.models[0] as ServedModelPlan).replicas[0]!;
    expect(r.weightsGiB).toBeCloseTo(64.48, 1);
    expect(r.vllm?.quantization).toBeNull(); // the checkpoint says mxfp4; vLLM reads it
  });
});

/** A pip install of this era without FlashInfer sorts in PyTorch (TopKTopPSampler: "FlashInfer is not available"). */
const SORT = SAMPLER_BYTES_PER_LOGIT["pytorch-sort"];
const h100 = GPUS["H100-SXM"];
const v0101 = VLLM_ACCOUNTING["0.10.1"];
/** Qwen2-7B-Instruct: the shape of the catalog's Qwen2.5-7B-Instruct (28 layers, 4 KV heads, vocab 152,064). */
const qwen2_7b = (nodes: unknown[], gpuMemoryUtilization: number, gpus?: number[]) =>
  (planFleet(fleet(nodes, [{ id: "q", engine: "vllm", engineVersion: "0.10.1", source: { hf: "Qwen/Qwen2-7B-Instruct" }, arch: "Qwen/Qwen2.5-7B-Instruct", gpuMemoryUtilization, contextLength: 16384, replicas: [{ nodes: ["a"], ...(gpus ? { gpus } : {}) }] }])).models[0] as ServedModelPlan).replicas[0]!;

describe("v0.10.1: distributed init inside the budget, CUDA graphs beside it, FlashInfer sampling in the image", () => {
  it("TP 2 across two nodes (Ray, A100 40GB, no FlashInfer): 11.03 GiB (log/vllm-7B-2gpuA10040GB-0.5GRAM-diff-nodes.log)", () => {
    // One GPU per node: NCCL over the network, no NVLink between the ranks. A plan cannot place TP across nodes, so
    // the accounting is checked with the run's settings: PyTorch sort sampler, 256 sequences, 2,048 tokens.
    const arch = findModel("Qwen/Qwen2.5-7B-Instruct")!.arch;
    const gpu = { ...GPUS["A100-40GB"], nvlink: false };
    const m = workerMemory({ gpu, util: 0.5, accounting: v0101, tensorParallel: 2, worldSize: 2, weights: 7.1217 * GiB, activation: activationPeakBytes(arch, 2, 2048, 256, true, SORT) });
    expect(within(m.available / GiB, 11.03, 0.03)).toBe(true);
  });

  it("gpt-oss-120b at TP 4 across four A100 80GB PCIe nodes (Ray) at 0.8: 45.32 GiB, 2,640,144 tokens, 17.2217 GiB of weights per GPU", () => {
    // dennislee22/vLLM-benchmarking log/vllm-120B-4gpuA10080GB-0.8GRAM-diff-nodes.log: vLLM 0.10.1.1, FlashInfer
    // sampling, Marlin MXFP4 ("Your GPU does not have native support for FP4"), max_num_batched_tokens 2048.
    const w = fullWeights(weightBytes(gptOss120, "mxfp4", undefined, { ...marlin, tensorParallel: 4 }), 36) / 4;
    const m = workerMemory({ gpu: GPUS["A100-80GB-PCIe"], util: 0.8, accounting: v0101, tensorParallel: 4, worldSize: 4, weights: w, activation: activationPeakBytes(gptOss120, 4, 2048, 256, true, SAMPLER_BYTES_PER_LOGIT[v0101.sampler]) });
    const layout = kvLayout(gptOss120, 2, "auto");
    expect(within(w / GiB, 17.2217, 0.01)).toBe(true);
    expect(within(m.available / GiB, 45.32, 0.03)).toBe(true);
    expect(within(kvCacheTokens(layout, workerBlocks(layout, [0, 36], m.available)), 2640144, 0.03)).toBe(true);
  });

  it("gpt-oss-120b on one H100 at the default 0.9, pip install without FlashInfer: available KV −2.14 GiB, refused (vllm#23278)", () => {
    const w = fullWeights(weightBytes(gptOss120, "mxfp4", undefined, marlin), 36);
    const m = workerMemory({ gpu: h100, util: 0.9, accounting: v0101, tensorParallel: 1, worldSize: 1, weights: w, activation: activationPeakBytes(gptOss120, 1, 8192, 1024, true, SORT) });
    // The logged figure is negative and small: compare in GiB, not in per cent.
    expect(Math.abs(m.available / GiB - -2.14)).toBeLessThan(0.2);
  });

  it("Qwen3-235B-A22B-FP8 at TP 4 on H100, sorting sampler: 8.11 GiB and 178,880 tokens (vllm#21348, v0.10-era)", () => {
    // config.json of Qwen/Qwen3-235B-A22B, verbatim copy in the code index (find_string id 22176531064). The logged KV
    // reconciles with the PyTorch sort path only (the FlashInfer pass would leave 3.4 GiB more): an install without it.
    const arch = { numLayers: 94, hiddenSize: 4096, intermediateSize: 12288, numAttentionHeads: 64, numKeyValueHeads: 4, headDim: 128, vocabSize: 151936, maxPositionEmbeddings: 40960, tieWordEmbeddings: false, moe: { numExperts: 128, expertsPerToken: 8, expertIntermediateSize: 1536 } };
    const m = workerMemory({ gpu: h100, util: 0.9, accounting: v0101, tensorParallel: 4, worldSize: 4, weights: fullWeights(weightBytes(arch, "fp8"), 94) / 4, activation: activationPeakBytes(arch, 4, 8192, 1024, true, SORT) });
    const layout = kvLayout(arch, 1, "auto");
    expect(within(m.available / GiB, 8.11, 0.03)).toBe(true);
    expect(within(kvCacheTokens(layout, workerBlocks(layout, [0, 94], m.available)), 178880, 0.03)).toBe(true);
  });
});

describe("v0.11.0: distributed init before the snapshot, CUDA graphs beside the budget, FlashInfer sampling in the image", () => {
  it("gpt-oss-120b on one H100 at 0.95 with --max-num-batched-tokens 1024, pip install without FlashInfer: 1.71 GiB (vllm#27508)", () => {
    // The run's pip install had no triton_kernels, so vLLM took the Marlin backend (mxfp4.py get_mxfp4_backend),
    // nor FlashInfer (a pip dependency only since vllm#26443, 2025-10-09), so it sorted.
    const w = fullWeights(weightBytes(gptOss120, "mxfp4", undefined, marlin), 36);
    const m = workerMemory({ gpu: h100, util: 0.95, accounting: VLLM_ACCOUNTING["0.11.0"], tensorParallel: 1, worldSize: 1, weights: w, activation: activationPeakBytes(gptOss120, 1, 1024, 1024, true, SORT) });
    // A small figure: the residual is 0.25 GiB (see the report table); pinned in GiB.
    expect(Math.abs(m.available / GiB - 1.71)).toBeLessThan(0.3);
  });

  it("Mistral-Small-3.2-24B on one H100 at 0.95, the v0.11.0 image: 28.20 GiB and 184,832 tokens with FlashInfer's sampler pass, −9.6 % with a sort (llm-d empirical results)", () => {
    // llm-d/llm-d-benchmark config_explorer/empirical-vllm-memory-results.md §10, the one run there whose version is
    // stated: "vLLM version: 0.11.0", image vllm/vllm-openai, gpu-memory-utilization 0.95, max_num_batched_tokens
    // 8192, weights 44.76 GiB (vision tower included: taken as logged), peak activation 2.12, non-torch 0.14, KV
    // 28.20 GiB = 1,444 blocks of 128 tokens. Its text geometry as the write-up lists it (40 layers, hidden 5120, 32
    // heads, 8 KV heads, head_dim 128, vocab 131,072) with the Mistral 3 24B text_config's intermediate_size 32768.
    // Not a constant of the planner was read off this run: it tests the claim that the v0.11.0 image samples through
    // FlashInfer (14 B a logit over 1024 × 131,072 logits), against the 38 B of a sort.
    const arch = { numLayers: 40, hiddenSize: 5120, intermediateSize: 32768, numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 128, vocabSize: 131072, maxPositionEmbeddings: 131072, tieWordEmbeddings: false };
    const v011 = VLLM_ACCOUNTING["0.11.0"];
    const run = (bytesPerLogit: number) => workerMemory({ gpu: h100, util: 0.95, accounting: v011, tensorParallel: 1, worldSize: 1, weights: 44.76 * GiB, activation: activationPeakBytes(arch, 1, 8192, 1024, true, bytesPerLogit) });
    const layout = kvLayout(arch, 8, "auto");
    const image = run(SAMPLER_BYTES_PER_LOGIT[v011.sampler]);
    expect(v011.sampler).toBe("flashinfer");
    expect(within(image.available / GiB, 28.2, 0.03)).toBe(true);
    expect(within(kvCacheTokens(layout, workerBlocks(layout, [0, 40], image.available)), 184832, 0.03)).toBe(true);
    expect(within(run(SORT).available / GiB, 28.2, 0.03)).toBe(false);
  });
});

/**
 * The llm-d capacity planner's H100 runs (llm-d/llm-d-benchmark config_explorer/empirical-vllm-memory-results.md): 79.18
 * GiB, max_model_len 16000, block size 128 (token counts not comparable). The write-up names no version for these runs
 * (image vllm/vllm-openai:latest); their activation peaks fit the PyTorch sort path (Llama-3.1-8B 4.76 GiB = 1024 ×
 * 128,256 × 38 B + hidden states; FlashInfer's 14 B would give 1.78) of the v0.11.1–v0.16 images, not the FlashInfer pass
 * of the v0.11.0 image (its one stated-0.11.0 run is pinned above) nor 0.19's Triton kernel: planned as 0.16.0.
 */
const llmd = (model: Record<string, unknown>, instanceType = "p5.4xlarge", gpus?: number[]) =>
  planFleet(fleet([awsNode("h", instanceType)], [{ id: "m", engine: "vllm", engineVersion: "0.16.0", contextLength: 16000, replicas: [{ nodes: ["h"], ...(gpus ? { gpus } : {}) }], ...model }]));
const llmdReplica = (model: Record<string, unknown>, instanceType?: string, gpus?: number[]) => (llmd(model, instanceType, gpus).models[0] as ServedModelPlan).replicas[0]!;

describe("v0.16.0 (the v0.11.1–v0.16 images sample the same way): distributed init and CUDA graphs beside the budget, PyTorch sort sampling", () => {
  it("one H100 at 0.9: Llama-3.1-8B-Instruct 51.38 GiB (weights 14.99), gpt-oss-20b 50.28 (13.47), Qwen3-0.6B 64.45 (1.12) (llm-d empirical results)", () => {
    const llama = llmdReplica({ source: { hf: "meta-llama/Llama-3.1-8B-Instruct" } });
    const oss = llmdReplica({ source: { hf: "openai/gpt-oss-20b" } });
    // Qwen/Qwen3-0.6B config.json: 28 layers, hidden 1024, intermediate 3072, 16 heads, 8 KV heads, head_dim 128, tied embeddings.
    const qwen = llmdReplica({ source: { hf: "Qwen/Qwen3-0.6B" }, arch: { numLayers: 28, hiddenSize: 1024, intermediateSize: 3072, numAttentionHeads: 16, numKeyValueHeads: 8, headDim: 128, vocabSize: 151936, maxPositionEmbeddings: 40960, tieWordEmbeddings: true } });
    for (const [r, kv, weights] of [[llama, 51.38, 14.99], [oss, 50.28, 13.47], [qwen, 64.45, 1.12]] as const) {
      expect(within(r.vllm!.availableKvGiBPerGpu, kv, 0.03), `${r.vllm!.availableKvGiBPerGpu} vs ${kv}`).toBe(true);
      expect(Math.abs(r.weightsGiB - weights), `${r.weightsGiB} vs ${weights}`).toBeLessThan(Math.max(0.01 * weights, 0.011)); // 1.12 is rounded to 0.01
    }
  });

  it("the profile's activation peak vLLM logged, the sampler pass over 1024 sequences' logits at 38 B each (a sort), within 2 %: 4.76, 7.38, 5.56, 4.84, 5.64 GiB (llm-d empirical results)", () => {
    // The logged "Peak Activation" term alone, so SAMPLER_BYTES_PER_LOGIT["pytorch-sort"] (read from PyTorch's sort, not
    // off a log) is tested apart from weights and non-torch memory. The vocabularies differ (128,256; 201,088; 151,936).
    const qwen06 = { numLayers: 28, hiddenSize: 1024, intermediateSize: 3072, numAttentionHeads: 16, numKeyValueHeads: 8, headDim: 128, vocabSize: 151936, maxPositionEmbeddings: 40960, tieWordEmbeddings: true };
    const runs: [Record<string, unknown>, number, string?, number[]?][] = [
      [{ source: { hf: "meta-llama/Llama-3.1-8B-Instruct" } }, 4.76],
      [{ source: { hf: "openai/gpt-oss-20b" } }, 7.38],
      [{ source: { hf: "Qwen/Qwen3-0.6B" }, arch: qwen06 }, 5.56],
      [{ source: { hf: "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic" }, arch: "meta-llama/Llama-3.3-70B-Instruct", quantization: "fp8" }, 4.84, "p5.48xlarge", [0, 1]],
      [{ source: { hf: "Qwen/Qwen3-32B" } }, 5.64],
    ];
    for (const [model, logged, instanceType, gpus] of runs) {
      const planned = llmdReplica(model, instanceType, gpus).vllm!.activationPeakGiB;
      expect(within(planned, logged, 0.02), `${JSON.stringify(model.source)}: ${planned} vs ${logged}`).toBe(true);
    }
  });

  it("gpt-oss-120b on one H100 (Triton MXFP4): 3.33 GiB beside 64.38 of weights and 7.38 of activation — the identity holds at utilization 0.95", () => {
    // 0.95 × 79.18 − 64.38 − 7.38 − 0.13 = 3.33 exactly; the write-up's table says 0.9, where the same terms give −0.63.
    const r = llmdReplica({ source: { hf: "openai/gpt-oss-120b" }, gpuMemoryUtilization: 0.95 });
    expect(within(r.vllm!.availableKvGiBPerGpu, 3.33, 0.03)).toBe(true);
    expect(within(r.weightsGiB, 64.38, 0.01)).toBe(true);
  });

  it("Llama-3.3-70B-Instruct-FP8-dynamic on H100: 32.0 GiB at TP 2; refused at TP 1 with −1.44 GiB (llm-d empirical results)", () => {
    const model = { source: { hf: "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic" }, arch: "meta-llama/Llama-3.3-70B-Instruct", quantization: "fp8" };
    const tp2 = llmdReplica(model, "p5.48xlarge", [0, 1]);
    expect(within(tp2.vllm!.availableKvGiBPerGpu, 32.0, 0.03)).toBe(true);
    expect(within(tp2.weightsGiB / 2, 33.88, 0.01)).toBe(true);
    // "ValueError: No available memory for the cache blocks" after "Available KV cache memory: -1.44 GiB".
    const message = refusal(() => llmd(model));
    const logged = /Available KV cache memory: (-?[\d.]+) GiB/.exec(message);
    expect(logged).not.toBeNull();
    expect(Math.abs(Number(logged![1]) - -1.44)).toBeLessThan(0.2);
  });

  it("refuses Qwen3-Coder-30B-A3B-FP8 at 262,144 tokens on 5070 Ti + 5090 (PP 2, split 16,32) as v0.15.2 did (vllm#34076)", () => {
    const spec = fleet(
      [sshGpuNode("small", ["RTX 5070 Ti"]), sshGpuNode("big", ["RTX 5090"])],
      [{ id: "coder", engine: "vllm", engineVersion: "0.16.0", source: { hf: "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8" }, gpuMemoryUtilization: 0.9, contextLength: 262144, replicas: [{ nodes: ["small", "big"], layerSplit: [16, 32] }] }],
    );
    const message = refusal(() => planFleet(spec));
    // vLLM: "(24.0 GiB KV cache is needed, which is larger than the available KV cache memory (3.18 GiB). … estimated maximum model length is 34736."
    expect(message).toMatch(/one 262144-token sequence needs 24 GiB of KV cache/);
    expect(message).not.toMatch(/GPU 0 of small/); // vLLM got past its start check on the 5070 Ti; so does the plan
    const available = Number(/available KV cache memory \(([\d.]+) GiB\)/.exec(message)![1]);
    const estimated = Number(/maximum model length at (\d+)/.exec(message)![1]);
    expect(available).toBeGreaterThan(3.18 * 0.8);
    expect(available).toBeLessThan(3.18 * 1.25);
    expect(estimated).toBeLessThan(262144);
    // v0.16 checks the smallest worker against every layer; v0.21 against its own 16 layers only.
    const v21 = planFleet(fleet(
      [sshGpuNode("small", ["RTX 5070 Ti"]), sshGpuNode("big", ["RTX 5090"])],
      [{ id: "coder", engine: "vllm", source: { hf: "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8" }, gpuMemoryUtilization: 0.9, replicas: [{ nodes: ["small", "big"], layerSplit: [16, 32] }] }],
    ));
    expect((v21.models[0] as ServedModelPlan).contextLength).toBeGreaterThan(estimated);
  });
});

describe("tensor parallelism on NVLink: a prediction from the constants", () => {
  it("refuses a 70B model at TP 2 on H100 under v0.16 at 32,768 tokens, as vLLM would: ~0.24 GiB left for KV", () => {
    const spec = fleet([awsNode("p5", "p5.48xlarge")], [{ id: "l", engine: "vllm", engineVersion: "0.16.0", source: { hf: "deepseek-ai/DeepSeek-R1-Distill-Llama-70B" }, contextLength: 32768, replicas: [{ nodes: ["p5"], gpus: [0, 1] }] }]);
    const message = refusal(() => planFleet(spec));
    // 71.26 − 65.71 weights − 4.77 (sampler pass over 1024 × 128,256 logits) − 0.54 non-torch.
    expect(message).toMatch(/one 32768-token sequence needs 5 GiB of KV cache, larger than the available KV cache memory \(0\.2\d GiB\); vLLM 0\.16\.0 refuses to start/);
    const noContext = refusal(() => planFleet(fleet([awsNode("p5", "p5.48xlarge")], [{ id: "l", engine: "vllm", engineVersion: "0.16.0", source: { hf: "deepseek-ai/DeepSeek-R1-Distill-Llama-70B" }, replicas: [{ nodes: ["p5"], gpus: [0, 1] }] }])));
    expect(noContext).toMatch(/vLLM 0\.16\.0 would log "Available KV cache memory: 0\.2\d GiB" and refuse the model's 131072-token maximum/);
  });
});

describe("v0.19.0: CUDA graphs estimated but beside the budget, Triton top-k/top-p sampling", () => {
  it("gpt-oss-20b on one A100 80GB at 0.65, max-model-len 131072: 36.56 GiB, weights 13.72 GiB (myoceane.fr, vLLM 0.19.0)", () => {
    // https://myoceane.fr/index.php/ai-vllm-a100-gemma-4/ : "version 0.19.0", non-default args gpu_memory_utilization
    // 0.65 and max_model_len 131072; "Model loading took 13.72 GiB", "Available KV cache memory: 36.56 GiB".
    // Weak evidence for 0.19's two choices: with a sort instead of Triton the plan would be −1.9 %, with the CUDA-graph
    // estimate taken out of the budget (0.21's default) −0.1 %, both within 3 % too. Those rest on the source
    // (vllm-versions.ts), not on this log; it pins weights, CUDA total and the rest of the budget.
    const r = (planFleet(fleet([sshGpuNode("a", ["A100 80GB"])], [{ id: "oss", engine: "vllm", engineVersion: "0.19.0", source: { hf: "openai/gpt-oss-20b" }, gpuMemoryUtilization: 0.65, contextLength: 131072, replicas: [{ nodes: ["a"] }] }])).models[0] as ServedModelPlan).replicas[0]!;
    expect(r.vllm!.engineVersion).toBe("0.19.0");
    expect(r.vllm!.image).toBe("vllm/vllm-openai:v0.19.0");
    expect(within(r.vllm!.availableKvGiBPerGpu, 36.56, 0.03)).toBe(true);
    expect(within(r.weightsGiB, 13.72, 0.01)).toBe(true);
  });
});

describe("v0.21.0: the CUDA-graph estimate comes out of the budget", () => {
  it("reproduces the identity of a v0.2x log: 67.43 − 16.92 − 5.66 − 0.13 − 1.32 = 43.4 GiB in use (vllm#50780)", () => {
    // H100 as that driver reported it (79.33 GiB), utilization 0.85; weights and peak as logged.
    const gpu = { ...GPUS["H100-SXM"], cudaTotalBytes: 79.33 * GiB };
    const m = workerMemory({ gpu, util: 0.85, accounting: VLLM_ACCOUNTING["0.21.0"], tensorParallel: 1, worldSize: 1, weights: 16.92 * GiB, activation: 5.66 * GiB });
    // The planner's constants (0.14 non-torch, 0.5 graphs) stand in for the logged 0.13 and 1.32.
    expect(m.available / GiB + 0.14 + 0.5 - 0.13 - 1.32).toBeCloseTo(43.4, 1);
    const older = workerMemory({ gpu, util: 0.85, accounting: VLLM_ACCOUNTING["0.16.0"], tensorParallel: 1, worldSize: 1, weights: 16.92 * GiB, activation: 5.66 * GiB });
    expect(older.available - m.available).toBeCloseTo(0.5 * GiB, -3);
  });
});

describe("sliding-window layers", () => {
  it("keeps only the window for gpt-oss's sliding layers: a request needs half the blocks of all-full attention", () => {
    const layout = kvLayout(gptOss120, 8, "auto");
    expect(layout.groups.map((g) => [g.sliding, g.layers.length])).toEqual([[false, 18], [true, 18]]);
    const blocks = workerBlocks(layout, [0, 36], 10 * GiB);
    expect(kvCacheTokens(layout, blocks)).toBe(Math.floor(blocks / 2) * 16);
  });
});

/**
 * Logs a constant of the planner was read off. Matching them shows the arithmetic is consistent, not that the model is
 * right: each names the independent log that checks the same constant. Kept so a change of the arithmetic that breaks
 * the fit is seen.
 */
describe("consistency, not evidence: the logs the constants were read off", () => {
  const qwen3 = (instanceType: string, gpus?: number[]) => (planFleet(fleet([awsNode("n", instanceType)], [{ id: "q", engine: "vllm", engineVersion: "0.16.0", source: { hf: "Qwen/Qwen3-32B" }, gpuMemoryUtilization: 0.9, contextLength: 16000, replicas: [{ nodes: ["n"], ...(gpus ? { gpus } : {}) }] }])).models[0] as ServedModelPlan).replicas[0]!;

  // dennislee22/vLLM-benchmarking log/vllm-7B-1gpuA10080GB-0.25GRAM.log and -0.5GRAM.log: vLLM 0.10.1.1, "Using
  // FlashInfer for top-p & top-k sampling", max_num_seqs 256 and max_num_batched_tokens 2048 (A100 defaults).
  // The catalog's CUDA total of the A100 80GB PCIe is the difference of these two runs (gpus.ts): what this pins is
  // the rest, FlashInfer's sampler pass and the single-GPU non-torch memory (0.551 GiB logged at both utilizations).
  it("A100 80GB PCIe CUDA total (read off this pair): Qwen2-7B-Instruct at 0.25 and 0.5, 5.01 and 24.83 GiB, 93,872 and 464,848 tokens, weights 14.2488 GiB", () => {
    const quarter = qwen2_7b([sshGpuNode("a", ["A100 80GB PCIe"])], 0.25);
    const half = qwen2_7b([sshGpuNode("a", ["A100 80GB PCIe"])], 0.5);
    expect(within(quarter.vllm!.availableKvGiBPerGpu, 5.01, 0.03)).toBe(true);
    expect(within(quarter.kvCacheTokens, 93872, 0.03)).toBe(true);
    expect(within(half.vllm!.availableKvGiBPerGpu, 24.83, 0.03)).toBe(true);
    expect(within(half.kvCacheTokens, 464848, 0.03)).toBe(true);
    expect(within(quarter.weightsGiB, 14.2488, 0.01)).toBe(true);
  });

  // TP_PCIE_BYTES_PER_RANK is this log's 0.12 GiB over the TP 1 pair; the TP 4 gpt-oss-120b log (v0.10.1 above) is its
  // independent check.
  it("TP_PCIE_BYTES_PER_RANK (read off this log): Qwen2-7B-Instruct at TP 2 on that server (PCIe, no P2P), 31.83 GiB and 1,192,160 tokens, 7.1217 GiB of weights per GPU", () => {
    // log/vllm-7B-2gpuA10080GB-0.5GRAM-same-node.log: "Custom allreduce is disabled because your platform lacks GPU P2P capability".
    const tp2 = qwen2_7b([sshGpuNode("a", ["A100 80GB PCIe", "A100 80GB PCIe"])], 0.5);
    expect(tp2.tensorParallel).toBe(2);
    expect(within(tp2.vllm!.availableKvGiBPerGpu, 31.83, 0.03)).toBe(true);
    expect(within(tp2.kvCacheTokens, 1192160, 0.03)).toBe(true);
    expect(within(tp2.weightsGiB / 2, 7.1217, 0.01)).toBe(true);
    // An SXM board on NVSwitch counts NCCL's P2P buffers inside the budget in this version: a GiB less.
    const sxm = qwen2_7b([sshGpuNode("a", ["A100 80GB", "A100 80GB"])], 0.5);
    expect(tp2.vllm!.availableKvGiBPerGpu - sxm.vllm!.availableKvGiBPerGpu).toBeGreaterThan(1);
  });

  // TP_COLLECTIVE_BYTES_PER_RANK is this pair's 0.54 − 0.14 at TP 2; Llama-3.3-70B-FP8 at TP 2 (v0.16.0 above, 0.55
  // logged) and the B200 TP 4 log are its independent checks.
  it("TP_COLLECTIVE_BYTES_PER_RANK (read off this pair): Qwen3-32B on H100 at TP 1 and TP 2, 4.45 and 34.49 GiB, non-torch 0.14 and 0.54 (datapoints vllm-h100-empirical-qwen3-32b-tp1-tp2)", () => {
    const tp1 = qwen3("p5.4xlarge");
    const tp2 = qwen3("p5.48xlarge", [0, 1]);
    expect(within(tp1.vllm!.availableKvGiBPerGpu, 4.45, 0.03)).toBe(true);
    expect(within(tp2.vllm!.availableKvGiBPerGpu, 34.49, 0.03)).toBe(true);
    expect(tp2.vllm!.nonTorchGiB).toBeCloseTo(0.54, 1);
  });

  // distributedInitInBudgetBytes takes its 0.84 GiB at TP 2 from this log (1.38 − 0.14 − 0.40); Qwen3-235B at TP 4
  // (vllm#21348, v0.10.1 above) is its independent check.
  it("NCCL init inside the budget (read off this log): v0.10.2, Qwen3-Next-80B TP 2 on H200, 44.59 GiB (datapoints vllm-0102-qwen3-next-80b-tp2-h200)", () => {
    // Weights and activation as logged (a hybrid model the catalog does not hold); H200 total as CUDA reported it.
    const gpu = { ...GPUS["H100-SXM"], cudaTotalBytes: 139.81 * GiB };
    const m = workerMemory({ gpu, util: 0.9, accounting: VLLM_ACCOUNTING["0.10.1"], tensorParallel: 2, worldSize: 2, weights: 74.28 * GiB, activation: 5.58 * GiB });
    expect(m.nonTorch / GiB).toBeCloseTo(1.38, 1);
    expect(within(m.available / GiB, 44.59, 0.03)).toBe(true);
  });
});
