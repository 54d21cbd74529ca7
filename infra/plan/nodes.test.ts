/**
 * replica.gpus, read once for every engine (nodes.ts replicaGpus): unset takes all the node's GPUs;
 * an index the node lacks, or one given twice, is refused at the replica's gpus path.
 */
import { describe, expect, it } from "vitest";
import { FleetSpecError } from "../spec/errors";
import { fleet, sshGpuNode } from "../../test/support/specs";
import { planFleet } from "./fleet";

const vllm = (gpus?: number[]) => ({ id: "chat", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["box"], ...(gpus ? { gpus } : {}) }] });
const llama = (gpus?: number[]) => ({
  id: "small", engine: "llamacpp", source: { gguf: { repo: "Qwen/Qwen2.5-7B-Instruct-GGUF", file: "qwen2.5-7b-instruct-q4_k_m.gguf" } }, arch: "Qwen/Qwen2.5-7B-Instruct",
  contextLength: 4096, replicas: [{ nodes: ["box"], ...(gpus ? { gpus } : {}) }],
});
const box = sshGpuNode("box", ["L40S", "L40S"], { cores: 16, memoryGiB: 64 });

function refusal(model: object) {
  try {
    planFleet(fleet([box], [model]));
  } catch (err) {
    if (err instanceof FleetSpecError) return err.issues.filter((i) => i.path.endsWith(".gpus"));
    throw err;
  }
  return [];
}

describe("replica.gpus", () => {
  it.each([["vllm", vllm], ["llamacpp", llama]] as const)("%s: unset takes every GPU of the node", (_, model) => {
    expect(planFleet(fleet([box], [model()])).models[0]!.replicas[0]!.stages.flatMap((s) => s.gpus)).toEqual([0, 1]);
  });

  it.each([["vllm", vllm], ["llamacpp", llama]] as const)("%s: an index the node lacks is refused, with the indices it has", (_, model) => {
    expect(refusal(model([0, 2]))).toEqual([{ path: "models[0].replicas[0].gpus", message: "node box has 2 GPU(s); index 2 does not exist", fix: "use indices 0..1" }]);
  });

  it.each([["vllm", vllm], ["llamacpp", llama]] as const)("%s: an index given twice is refused (not planned as two GPUs)", (_, model) => {
    expect(refusal(model([1, 1]))).toEqual([{ path: "models[0].replicas[0].gpus", message: "GPU index 1 is given twice", fix: "list each GPU once, e.g. [0, 1]" }]);
  });
});
