/**
 * npm run bench:plan — planner time for fleets of 10, 100 and 1000 models, as ms per model.
 * Goal: 1000 models under 1 s on a 2-core machine, growing linearly.
 */
import { performance } from "node:perf_hooks";
import { planFleet } from "../../infra/plan";
import { parseFleetSpec } from "../../infra/spec/parse";
import type { FleetSpec } from "../../infra/spec/schema";

/** A realistic mix: vLLM pipelines across mixed GPUs, TP on multi-GPU nodes, llama.cpp on CPU boxes, Ollama on RTX boxes. */
function syntheticFleet(models: number): FleetSpec {
  const nodes: object[] = [];
  const specs: object[] = [];
  for (let i = 0; i < models; i++) {
    switch (i % 4) {
      case 0:
        nodes.push({ name: `a${i}`, provider: "aws", instanceType: "g5.xlarge" }, { name: `b${i}`, provider: "aws", instanceType: "g5.xlarge" }, { name: `c${i}`, provider: "aws", instanceType: "g6e.xlarge" });
        specs.push({ id: `qwen-${i}`, engine: "vllm", source: { hf: "Qwen/Qwen3-32B-AWQ" }, quantization: "awq", replicas: [{ nodes: [`a${i}`, `b${i}`, `c${i}`] }] });
        break;
      case 1:
        nodes.push({ name: `t${i}`, provider: "aws", instanceType: "g6e.12xlarge" });
        specs.push({ id: `r1-${i}`, engine: "vllm", source: { hf: "casperhansen/deepseek-r1-distill-llama-70b-awq" }, quantization: "awq", replicas: [{ nodes: [`t${i}`] }] });
        break;
      case 2:
        nodes.push({ name: `cpu${i}`, provider: "ssh", host: `ops@cpu${i}`, gpus: [], cpu: { cores: 8, memoryGiB: 32, bandwidthGBs: 51.2 } });
        specs.push({ id: `coder-${i}`, engine: "llamacpp", source: { gguf: { repo: "TheBloke/CodeLlama-7B-Instruct-GGUF", file: "codellama-7b-instruct.Q4_K_M.gguf" } }, replicas: [{ nodes: [`cpu${i}`] }] });
        break;
      default:
        nodes.push({ name: `rtx${i}`, provider: "docker", host: `ssh://ops@rtx${i}`, gpus: ["RTX 5070 Ti"], cpu: { cores: 16, memoryGiB: 64, bandwidthGBs: 89.6 } });
        specs.push({ id: `ds-${i}`, engine: "ollama", source: { ollama: "deepseek-coder:33b" }, contextLength: 4096, replicas: [{ nodes: [`rtx${i}`] }] });
    }
  }
  return parseFleetSpec({
    name: "bench",
    nodes,
    models: specs,
    gateway: { keys: { app: { models: ["*"], rateClass: "std" } }, rateClasses: { std: { requestsPerMinute: 60, burst: 10, concurrency: 4 } }, perIp: { requestsPerMinute: 60, burst: 10 } },
  });
}

function timeMs(fn: () => void, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const sizes = [10, 100, 1000];
const results = sizes.map((n) => {
  const spec = syntheticFleet(n);
  planFleet(spec); // warm up
  const ms = timeMs(() => planFleet(spec), n >= 1000 ? 5 : 20);
  return { models: n, ms, msPerModel: ms / n };
});
console.log("planFleet (median of runs; spec parsed beforehand)");
console.log("models  total ms  ms/model");
for (const r of results) console.log(`${String(r.models).padStart(6)}  ${r.ms.toFixed(1).padStart(8)}  ${r.msPerModel.toFixed(4).padStart(8)}`);
const [small, , large] = results;
console.log(`growth: ms/model at 1000 ÷ ms/model at 10 = ${(large!.msPerModel / small!.msPerModel).toFixed(2)} (1.00 = linear)`);
console.log(`goal 1000 models < 1000 ms: ${large!.ms.toFixed(1)} ms → ${large!.ms < 1000 ? "met" : "NOT met"} (${(1000 / large!.ms).toFixed(1)}× headroom)`);
