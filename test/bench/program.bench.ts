/**
 * npm run bench:program — time of one run of the real Pulumi program (infra/index.ts) under
 * Pulumi's mocks, for synthetic fleets of 1, 10 and 100 nodes: spec parse, plan, render, every
 * resource registered and every stack output resolved. Median of several runs after a warm-up.
 * No AWS, SSH or Docker is touched; the time is the program's own (what `pulumi preview` adds
 * before it talks to providers).
 */
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { fixture } from "../infra/stacks";
import { runProgram } from "../infra/harness";

const INFRA = path.resolve(__dirname, "../../infra");

/**
 * A mix like the examples, grown the way fleets grow (more replicas, few models): half the nodes
 * on AWS (vLLM, one model per five nodes), a quarter CPU boxes over SSH (one llama.cpp model,
 * a replica on each), a quarter RTX boxes behind Docker (one Ollama model, a replica on each).
 */
function syntheticSpec(nodes: number): object {
  const kinds = Array.from({ length: nodes }, (_, i) => (["aws", "aws", "ssh", "docker"] as const)[i % 4]);
  const names = (kind: string) => kinds.flatMap((k, i) => (k === kind ? [`${kind}${i}`] : []));
  const aws = names("aws");
  const ssh = names("ssh");
  const docker = names("docker");
  const models: object[] = [];
  for (let g = 0; g * 5 < aws.length; g++) {
    const group = aws.slice(g * 5, g * 5 + 5);
    models.push({ id: `qwen-${g}`, engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, contextLength: 8192, replicas: group.map((n) => ({ nodes: [n] })) });
  }
  if (ssh.length > 0) {
    models.push({
      id: "coder",
      engine: "llamacpp",
      source: { gguf: { repo: "TheBloke/deepseek-coder-1.3b-instruct-GGUF", file: "deepseek-coder-1.3b-instruct.Q4_K_M.gguf" } },
      contextLength: 4096,
      concurrency: 2,
      replicas: ssh.map((n) => ({ nodes: [n] })),
    });
  }
  if (docker.length > 0) {
    models.push({ id: "ds-coder", engine: "ollama", source: { ollama: "deepseek-coder:33b" }, contextLength: 4096, concurrency: 2, replicas: docker.map((n) => ({ nodes: [n] })) });
  }
  return {
    name: "bench",
    hfTokenSecret: "hf-token",
    nodes: [
      ...aws.map((name) => ({ name, provider: "aws", instanceType: "g6.xlarge" })),
      ...ssh.map((name) => ({ name, provider: "ssh", host: `ops@${name}.lan`, gpus: [], cpu: { cores: 8, memoryGiB: 32, bandwidthGBs: 51.2 } })),
      ...docker.map((name) => ({ name, provider: "docker", host: `ssh://ops@${name}.lan`, gpus: ["RTX 4090"], cpu: { cores: 16, memoryGiB: 64, bandwidthGBs: 89.6 } })),
    ],
    models,
    gateway: {
      allowedCidrs: ["0.0.0.0/0"],
      keys: { app: { models: ["*"], rateClass: "std" } },
      rateClasses: { std: { requestsPerMinute: 60, burst: 10, concurrency: 4 } },
      perIp: { requestsPerMinute: 120, burst: 20 },
    },
  };
}

/** A fresh program each run, as a new `pulumi preview` process would load it. */
async function loadProgram(): Promise<Record<string, unknown>> {
  for (const key of Object.keys(require.cache)) if (key.startsWith(INFRA)) delete require.cache[key];
  return require(path.join(INFRA, "index.ts")) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const sizes = [1, 10, 100];
  const rows: { nodes: number; resources: number; ms: number }[] = [];
  for (const nodes of sizes) {
    const f = fixture(`synthetic-${nodes}`, "bench", syntheticSpec(nodes));
    await runProgram(f.program, loadProgram); // warm-up: module compilation, first requires
    const runs = nodes >= 100 ? 5 : 9;
    const times: number[] = [];
    let resources = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const run = await runProgram(f.program, loadProgram);
      times.push(performance.now() - t0);
      resources = run.resources.length;
    }
    times.sort((a, b) => a - b);
    rows.push({ nodes, resources, ms: times[Math.floor(times.length / 2)]! });
  }
  console.log("one mocked run of infra/index.ts (median; parse + plan + render + register + outputs)");
  console.log(" nodes  resources   total ms   ms/node");
  for (const r of rows) {
    console.log(`${String(r.nodes).padStart(6)}  ${String(r.resources).padStart(9)}  ${r.ms.toFixed(1).padStart(9)}  ${(r.ms / r.nodes).toFixed(2).padStart(8)}`);
  }
  const [one, , hundred] = rows;
  console.log(`growth: ms/node at 100 ÷ ms/node at 1 = ${(hundred!.ms / 100 / one!.ms).toFixed(2)} (fixed costs make small fleets dearer per node)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
