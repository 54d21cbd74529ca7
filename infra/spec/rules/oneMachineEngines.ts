import type { SpecIssue } from "../errors";
import { replicas, type SpecRule } from "./rule";

/** llama.cpp and Ollama run a replica in one process on one machine: no pipeline, no split to give. */
export const oneMachineEngines: SpecRule = (spec) =>
  replicas(spec).flatMap(({ model: m, replica: r, path }) => {
    if (m.engine === "vllm") return [];
    const issues: SpecIssue[] = [];
    if (r.nodes.length > 1) {
      issues.push({ path: `${path}.nodes`, message: `${m.engine} runs a replica on one machine; ${r.nodes.length} nodes given`, fix: "use one node per replica (add replicas for more throughput), or engine vllm for multi-node pipelines" });
    }
    if (r.layerSplit) {
      issues.push({ path: `${path}.layerSplit`, message: `${m.engine} has no pipeline stages to split`, fix: "remove layerSplit (llama.cpp and Ollama split layers across one node's GPUs themselves)" });
    }
    return issues;
  });
