/** Mixture-of-experts, sliding-window, MXFP4 and vision-language models, and the engine version a plan is for. */
import { describe, expect, it } from "vitest";
import { formatPlan } from "../../scripts/plan-table";
import { findModel } from "../catalog/models";
import { samplerPathFor, VLLM_ACCOUNTING } from "../catalog/vllm-versions";
import { FleetSpecError } from "../spec/errors";
import { awsNode, fleet, sshGpuNode } from "../../test/support/specs";
import { weightBytes } from "./arch";
import { planFleet } from "./fleet";
import type { ServedModelPlan } from "./types";

const vllm = (id: string, hf: string, replicas: unknown[], extra: object = {}) => ({ id, engine: "vllm", source: { hf }, replicas, ...extra });
const plan = (nodes: unknown[], models: unknown[]) => planFleet(fleet(nodes, models)).models[0] as ServedModelPlan;

function issuesOf(nodes: unknown[], models: unknown[]) {
  try {
    planFleet(fleet(nodes, models));
  } catch (err) {
    if (err instanceof FleetSpecError) return err.issues;
    throw err;
  }
  throw new Error("expected the planner to refuse");
}

describe("engine version", () => {
  it("plans for the pinned image's vLLM unless the model names another, and says which", () => {
    const pinned = plan([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }])]);
    expect(pinned.engineVersion).toBe("0.21.0");
    expect(pinned.replicas[0]!.vllm).toMatchObject({ engineVersion: "0.21.0", image: "vllm/vllm-openai:v0.21.0", gpuMemoryUtilization: 0.92 });
    const older = plan([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }], { engineVersion: "v0.16.0" })]);
    expect(older.replicas[0]!.vllm).toMatchObject({ engineVersion: "0.16.0", image: "vllm/vllm-openai:v0.16.0", gpuMemoryUtilization: 0.9, cudaGraphGiB: 0 });
    // Same utilization: 0.21.0 takes the CUDA-graph estimate out of the budget, 0.16.0 does not; 0.16.0's sampler
    // pass sorts the logits (38 bytes each), 0.21.0's Triton kernel works in place (14).
    const at = (engineVersion: string) => plan([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }], { engineVersion, gpuMemoryUtilization: 0.9 })]).replicas[0]!.vllm!;
    const [v16, v21] = [at("0.16.0"), at("0.21.0")];
    expect([v16.cudaGraphGiB, v21.cudaGraphGiB]).toEqual([0, 0.5]);
    expect(v16.activationPeakGiB - v21.activationPeakGiB).toBeCloseTo((256 * 152064 * 24) / 1024 ** 3, 2);
    const gap = v21.availableKvGiBPerGpu - v16.availableKvGiBPerGpu;
    expect(gap).toBeCloseTo((256 * 152064 * 24) / 1024 ** 3 - 0.5, 1);
  });

  const versionIssues = (engineVersion: string) => issuesOf([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }], { engineVersion })]);
  const LIST = "use one of 0.21.0, 0.19.0, 0.16.0, 0.11.0, 0.10.1 (default 0.21.0, the pinned image), or remove engineVersion";

  it("refuses a version it cannot document, listing the ones it can", () => {
    expect(versionIssues("0.9.2")).toEqual([{ path: "models[0].engineVersion", message: "vLLM 0.9.2 is not a version whose memory accounting the planner models", fix: LIST }]);
    expect(versionIssues("0.20.0")[0]!.message).toBe("vLLM 0.20.0 is not a version whose memory accounting the planner models");
  });

  it("refuses a patch release of a documented version, naming the release it documents: a patch may change the accounting", () => {
    for (const [asked, documented] of [["0.19.1", "0.19.0"], ["v0.10.1.1", "0.10.1"], ["0.11.2", "0.11.0"]] as const) {
      expect(versionIssues(asked)).toEqual([{
        path: "models[0].engineVersion",
        message: `vLLM ${asked} is a patch release of ${documented.split(".").slice(0, 2).join(".")}: the planner models ${documented}, whose memory accounting was read from its source, and a patch release may change it`,
        fix: `use engineVersion ${documented} (image vllm/vllm-openai:v${documented}), or remove engineVersion for the pinned 0.21.0`,
      }]);
    }
  });

  it("refuses what is not a version number, such as a floating tag", () => {
    for (const asked of ["latest", "", "0.19"]) {
      expect(versionIssues(asked)).toEqual([{ path: "models[0].engineVersion", message: `${JSON.stringify(asked)} is not a vLLM release number (major.minor.patch): a floating tag would change the accounting under the plan`, fix: LIST }]);
    }
  });

  it("says which of the image's defaults its accounting takes: the variables a user could set to change it", () => {
    const env = (extra: object) => plan([awsNode("a", "g6e.xlarge")], [vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }], extra)]).replicas[0]!.vllm!.environment;
    expect(env({})).toEqual([
      "VLLM_USE_FLASHINFER_SAMPLER unset: Triton top-k/top-p, a PyTorch sort below 8 sequences (1: FlashInfer)",
      "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS unset (1): the CUDA-graph estimate comes out of the KV budget (0: graphs beside it)",
    ]);
    expect(env({ engineVersion: "0.19.0" })[1]).toBe("VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS unset (0): CUDA graphs beside the KV budget (1: the estimate comes out of it)");
    expect(env({ engineVersion: "0.16.0" })).toEqual(["VLLM_USE_FLASHINFER_SAMPLER unset: PyTorch sort top-k/top-p (1: FlashInfer)"]);
    expect(env({ engineVersion: "0.10.1" })).toEqual(["VLLM_USE_FLASHINFER_SAMPLER unset: FlashInfer top-k/top-p, installed in the image (0: PyTorch sort)"]);
    // The plan table says it once per version in use.
    const two = planFleet(fleet([awsNode("a", "g6e.xlarge"), awsNode("b", "g6e.xlarge"), awsNode("c", "g6e.xlarge")], [
      vllm("q", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["a"] }, { nodes: ["b"] }]),
      vllm("old", "Qwen/Qwen2.5-7B-Instruct", [{ nodes: ["c"] }], { engineVersion: "0.11.0" }),
    ]));
    const table = formatPlan(two, "test");
    expect(table).toContain("  vllm 0.11.0 memory with the image's defaults: VLLM_USE_FLASHINFER_SAMPLER unset: FlashInfer top-k/top-p, installed in the image (0: PyTorch sort)");
    expect(table.match(/vllm 0\.21\.0 memory with the image's defaults/g)).toHaveLength(1);
  });

  it("takes the sort path, as 0.19 and 0.21 do, when fewer than 8 sequences reach the sampler pass (Triton filters 8 rows or more)", () => {
    expect(samplerPathFor(VLLM_ACCOUNTING["0.21.0"], 7)).toBe("pytorch-sort");
    expect(samplerPathFor(VLLM_ACCOUNTING["0.19.0"], 8)).toBe("triton");
    expect(samplerPathFor(VLLM_ACCOUNTING["0.10.1"], 1)).toBe("flashinfer"); // flashinfer_sample has no such threshold
    expect(samplerPathFor(VLLM_ACCOUNTING["0.16.0"], 1024)).toBe("pytorch-sort");
  });

  it("refuses a version for an engine that runs its pinned image", () => {
    const issues = issuesOf([sshGpuNode("box", ["RTX 4090"])], [{ id: "t", engine: "ollama", engineVersion: "0.16.0", source: { ollama: "tinyllama:1.1b" }, replicas: [{ nodes: ["box"] }] }]);
    expect(issues[0]).toMatchObject({ path: "models[0].engineVersion", message: "ollama runs the pinned image; only vLLM models choose a version" });
  });
});

describe("mixture of experts", () => {
  it("holds every expert, plans Qwen3-Coder-30B-A3B's full 262,144 positions at TP 2 on H100, and reads only the active experts per token", () => {
    const r = plan([awsNode("p5", "p5.48xlarge")], [vllm("coder", "Qwen/Qwen3-Coder-30B-A3B-Instruct", [{ nodes: ["p5"], gpus: [0, 1] }])]).replicas[0]!;
    expect(r.weightsGiB).toBeGreaterThan(56); // ~30.5B parameters in bf16, all experts resident
    expect(r.weightsGiB).toBeLessThan(58);
    expect(r.contextLength).toBe(262144);
    expect(r.kvBytesPerToken).toBe(98304); // attention layers only: 2 × 48 × 4 × 128 × 2
    // ~3.3B active parameters (6.6 GB) split over two GPUs at 3.35 TB/s: far faster than reading all 57 GiB.
    expect(r.decodeTokensPerSecond).toBeGreaterThan(500);
  });
  it("fits less context on one H100, and says the KV cache is the limit", () => {
    const r = plan([awsNode("h", "p5.4xlarge")], [vllm("coder", "Qwen/Qwen3-Coder-30B-A3B-Instruct", [{ nodes: ["h"] }])]).replicas[0]!;
    expect(r.contextLength).toBeLessThan(262144);
    expect(r.contextLength).toBeGreaterThan(32768);
    expect(r.notes.join(" ")).toMatch(/the most the KV cache holds/);
  });
});

describe("block-wise FP8 experts and tensor parallelism", () => {
  it("refuses Qwen3-Coder-30B-A3B-FP8 at TP 4 and 8 with vLLM's reason (768 / TP is not whole 128-wide blocks), plans it at TP 2", () => {
    const fp8 = (gpus?: number[]) => [vllm("c", "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8", [{ nodes: ["p5"], ...(gpus ? { gpus } : {}) }])];
    expect(issuesOf([awsNode("p5", "p5.48xlarge")], fp8([0, 1, 2, 3]))).toEqual([{
      path: "models[0].replicas[0].nodes",
      message: "The output_size of gate's and up's weight = 192 is not divisible by weight quantization block_n = 128 at tensor parallel size 4 — vLLM refuses to start (block-wise FP8: each rank's slice must be whole 128×128 blocks)",
      fix: "select 1 or 2 GPUs per node with replica.gpus (pipeline stages across nodes for more), or serve the unquantized checkpoint",
    }]);
    expect(issuesOf([awsNode("p5", "p5.48xlarge")], fp8())[0]!.message).toMatch(/weight = 96 is not divisible by weight quantization block_n = 128 at tensor parallel size 8/);
    expect(plan([awsNode("p5", "p5.48xlarge")], fp8([0, 1])).replicas[0]!.tensorParallel).toBe(2);
    // The bf16 checkpoint has no blocks: TP 4 plans.
    expect(plan([awsNode("p5", "p5.48xlarge")], [vllm("c", "Qwen/Qwen3-Coder-30B-A3B-Instruct", [{ nodes: ["p5"], gpus: [0, 1, 2, 3] }])]).replicas[0]!.tensorParallel).toBe(4);
  });
});

describe("sliding-window attention", () => {
  it("plans gpt-oss-20b's full 131,072 tokens on one L40S: its sliding layers keep 128 tokens, not the whole context", () => {
    const r = plan([awsNode("a", "g6e.xlarge")], [vllm("oss", "openai/gpt-oss-20b", [{ nodes: ["a"] }])]).replicas[0]!;
    expect(r.contextLength).toBe(131072);
    // As many full-length sequences as the full-attention half alone allows (plus the windows), not half that.
    const allFull = r.kvCacheGiB * 1024 ** 3 / (131072 * r.kvBytesPerToken);
    expect(r.maxConcurrentSequences).toBeGreaterThanOrEqual(Math.floor(allFull * 2) - 1);
    expect(r.vllm?.quantization).toBeNull(); // MXFP4 from the checkpoint
  });
  it("plans Gemma 3 1B with one full-attention layer in six", () => {
    const r = plan([awsNode("l4", "g6.xlarge")], [vllm("g", "google/gemma-3-1b-it", [{ nodes: ["l4"] }])]).replicas[0]!;
    expect(r.contextLength).toBe(32768);
    expect(r.maxConcurrentSequences).toBeGreaterThan(1);
  });
});

describe("MXFP4 and tensor parallelism over PCIe", () => {
  const oss120 = findModel("openai/gpt-oss-120b")!.arch;
  const marlinGiB = (tp: number) => {
    const w = weightBytes(oss120, "mxfp4", undefined, { hiddenAlign: 256, intermediateAlign: 128, tensorParallel: tp });
    return (36 * w.layer + w.embeddings + w.lmHead) / 1024 ** 3;
  };

  it("plans gpt-oss on A10G (compute capability 8.6, vLLM's MXFP4 needs 8.0) through Marlin's layout, one GPU or g5.12xlarge's four over PCIe", () => {
    const one = plan([awsNode("a", "g5.xlarge")], [vllm("oss", "openai/gpt-oss-20b", [{ nodes: ["a"] }])]).replicas[0]!;
    expect(one.vllm?.quantization).toBeNull();
    const four = plan([awsNode("a", "g5.12xlarge")], [vllm("oss", "openai/gpt-oss-120b", [{ nodes: ["a"] }])]).replicas[0]!;
    expect(four.tensorParallel).toBe(4);
    expect(four.weightsGiB).toBeCloseTo(marlinGiB(4), 1); // per-rank intermediate 720 padded to 768
    // PCIe: 0.14 GiB of base non-torch + 0.06 a rank (vllm-memory.ts TP_PCIE_BYTES_PER_RANK), not NVLink's 0.2.
    expect(four.vllm!.nonTorchGiB).toBeCloseTo(0.14 + 4 * 0.06, 2);
  });

  it("lets a PCIe TP 4 replica start at utilization 0.955: NCCL on PCIe holds what the A100 PCIe logs show before vLLM's snapshot, not the 0.48 GiB of an H100", () => {
    // vLLM refuses to start when free memory at its snapshot is below utilization × total. On g5.12xlarge's A10Gs
    // (22.02 GiB): 0.955 × 22.02 = 21.03 GiB needed; free is 22.02 − 0.61 (CUDA context) − NCCL. With the H100's 0.48
    // GiB of NCCL init (reference/gpu-measured.md) that is 20.93 and the plan refused; on PCIe the whole of NCCL and
    // its collectives came to 0.12 GiB at TP 2 (TP_PCIE_BYTES_PER_RANK), 0.24 at TP 4: 21.17, vLLM starts.
    const four = plan([awsNode("a", "g5.12xlarge")], [vllm("oss", "openai/gpt-oss-20b", [{ nodes: ["a"] }], { gpuMemoryUtilization: 0.955 })]).replicas[0]!;
    expect(four.tensorParallel).toBe(4);
    // NVLink boards keep the measured 0.48: a p4d A100 40GB pair at 0.98 is refused (0.79 GiB left < 0.61 + 0.48).
    const issues = issuesOf([awsNode("p", "p4d.24xlarge")], [vllm("oss", "openai/gpt-oss-20b", [{ nodes: ["p"], gpus: [0, 1] }], { gpuMemoryUtilization: 0.98 })]);
    expect(issues[0]!.message).toMatch(/needs .* free at start .* after its own 1\.09 GiB \(CUDA context, NCCL\)/);
  });

  it("says, on a PCIe board at TP > 1, what the tensor-parallel buffers are planned from: one A100 PCIe server without P2P", () => {
    const four = plan([awsNode("a", "g5.12xlarge")], [vllm("oss", "openai/gpt-oss-120b", [{ nodes: ["a"] }])]).replicas[0]!;
    expect(four.notes).toContain("tensor-parallel buffers on A10G (PCIe): 0.06 GiB a rank, as measured on an A100 PCIe server without GPU P2P (TP 2 on one node, TP 4 across nodes); boards with P2P over PCIe may hold more");
    const nvlink = plan([awsNode("p5", "p5.48xlarge")], [vllm("oss", "openai/gpt-oss-120b", [{ nodes: ["p5"], gpus: [0, 1] }])]).replicas[0]!;
    expect(nvlink.notes.join(" ")).not.toMatch(/PCIe/);
    const single = plan([awsNode("a", "g5.xlarge")], [vllm("oss", "openai/gpt-oss-20b", [{ nodes: ["a"] }])]).replicas[0]!;
    expect(single.notes.join(" ")).not.toMatch(/PCIe/);
  });
});

describe("vision-language models", () => {
  it("refuses Gemma 3 27B and Llama 3.2 Vision, naming what is not modelled", () => {
    for (const hf of ["google/gemma-3-27b-it", "meta-llama/Llama-3.2-11B-Vision-Instruct"]) {
      const issues = issuesOf([awsNode("p5", "p5.4xlarge")], [vllm("v", hf, [{ nodes: ["p5"] }])]);
      expect(issues).toEqual([expect.objectContaining({ path: "models[0].source", message: expect.stringMatching(/vision-language model .*vision tower's weights.*encoder cache budget are not modelled/) })]);
    }
  });
});
