import { describe, expect, it } from "vitest";
import { findModel } from "../catalog/models";
import { GiB, kvBytesPerToken, totalParams, weightBytes, checkpointBytes } from "./arch";
import { kvCacheTokens, kvLayout, workerBlocks } from "./vllm-memory";

const arch = (id: string) => {
  const m = findModel(id);
  if (!m) throw new Error(`${id} not in catalog`);
  return m.arch;
};

describe("KV bytes per token (memory-math.md §a.7)", () => {
  it.each([
    ["meta-llama/Llama-3.1-8B-Instruct", "auto", 131072],
    ["meta-llama/Llama-3.1-8B-Instruct", "fp8", 65536],
    ["Qwen/Qwen3-32B", "auto", 262144], // head_dim 128 from config, not hidden/heads = 80
    ["casperhansen/deepseek-r1-distill-llama-70b-awq", "auto", 327680],
    ["Qwen/Qwen2.5-7B-Instruct", "auto", 57344],
    ["codellama/CodeLlama-7b-Instruct-hf", "auto", 524288], // no GQA
    ["Qwen/Qwen3-30B-A3B", "auto", 98304], // vllm#34076: 262144 tokens × 96 KiB = 24.0 GiB
  ] as const)("%s at %s = %d", (id, dtype, bytes) => {
    expect(kvBytesPerToken(arch(id), dtype)).toBe(bytes);
  });
  it("turns 6.51 GiB into the 42,656 tokens vLLM logged for Qwen3-14B (datapoints.json lmcache-1739)", () => {
    // Qwen3-14B: 40 layers, 8 KV heads of 128 (the log's own check); one GPU, bf16 KV.
    const a = { ...arch("Qwen/Qwen3-32B"), numLayers: 40 };
    expect(kvBytesPerToken(a, "auto")).toBe(163840);
    const layout = kvLayout(a, 8, "auto");
    const tokens = kvCacheTokens(layout, workerBlocks(layout, [0, 40], 6.51 * GiB));
    // 6.51 is rounded to 0.01 GiB: ±0.08 % of tokens.
    expect(Math.abs(tokens / 42656 - 1)).toBeLessThan(0.001);
  });
});

describe("weights", () => {
  it("Llama-3.1-8B in bf16 weighs what vLLM logged: 14.99 GiB (datapoints.json vllm-10517)", () => {
    const a = arch("meta-llama/Llama-3.1-8B-Instruct");
    const bytes = checkpointBytes(a, weightBytes(a, "bf16"));
    expect(bytes / GiB).toBeGreaterThan(14.99 * 0.99);
    expect(bytes / GiB).toBeLessThan(14.99 * 1.01);
  });
  it("Qwen3-32B has 32.8B parameters", () => {
    expect(totalParams(arch("Qwen/Qwen3-32B")) / 1e9).toBeCloseTo(32.8, 0);
  });
  it("AWQ keeps embeddings and lm_head 16-bit: Qwen3-32B-AWQ ≈ 18 GiB", () => {
    const a = arch("Qwen/Qwen3-32B-AWQ");
    const gib = checkpointBytes(a, weightBytes(a, "awq")) / GiB;
    expect(gib).toBeGreaterThan(17.5);
    expect(gib).toBeLessThan(18.5);
  });
  it("scales GGUF parts to the real file size: deepseek-coder-33B Q4_K_M is 19.94 GB", () => {
    const a = arch("deepseek-ai/deepseek-coder-33b-instruct");
    expect(checkpointBytes(a, weightBytes(a, "Q4_K_M", 19.94e9))).toBeCloseTo(19.94e9, -6);
  });
  it("MoE decode reads only the active experts", () => {
    const a = arch("Qwen/Qwen3-30B-A3B");
    const w = weightBytes(a, "bf16");
    expect(w.layerActive / w.layer).toBeLessThan(0.15);
  });
});
