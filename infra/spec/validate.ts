/** Cross-reference checks of a shape-valid FleetSpec: every name a spec uses must exist. */
import type { FleetSpec } from "./schema";
import type { SpecIssue } from "./errors";

export function validateReferences(spec: FleetSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const nodeNames = new Set<string>();
  spec.nodes.forEach((n, i) => {
    if (nodeNames.has(n.name)) issues.push({ path: `nodes[${i}].name`, message: `"${n.name}" is used by two nodes`, fix: "give every node its own name" });
    // Rendered files go to out/<stack>/<node>/… next to out/<stack>/gateway/….
    if (n.name === "gateway") issues.push({ path: `nodes[${i}].name`, message: '"gateway" is reserved for the gateway\'s own files', fix: "name the node something else, e.g. gateway-box" });
    nodeNames.add(n.name);
  });
  const providerOf = new Map(spec.nodes.map((n) => [n.name, n.provider]));

  // Model ids and aliases share one namespace: the gateway routes on them.
  const modelNames = new Map<string, string>();
  const claim = (nameUsed: string, path: string) => {
    const owner = modelNames.get(nameUsed);
    if (owner) issues.push({ path, message: `"${nameUsed}" is already the name or alias of ${owner}`, fix: "model ids and aliases must be unique across the fleet" });
    else modelNames.set(nameUsed, path);
  };
  spec.models.forEach((m, i) => {
    claim(m.id, `models[${i}].id`);
    (m.aliases ?? []).forEach((a, j) => claim(a, `models[${i}].aliases[${j}]`));
  });
  const modelIds = new Set(spec.models.map((m) => m.id));
  const knownModel = (id: string) => modelIds.has(id);
  const modelList = [...modelIds].join(", ");

  spec.models.forEach((m, i) => {
    if (m.engine === "external") return;
    const sourceKind = "hf" in m.source ? "hf" : "gguf" in m.source ? "gguf" : "ollama";
    const allowed = { vllm: ["hf"], llamacpp: ["gguf"], ollama: ["ollama", "gguf"] }[m.engine];
    if (!allowed.includes(sourceKind)) {
      issues.push({
        path: `models[${i}].source`,
        message: `engine ${m.engine} cannot load a ${sourceKind} source`,
        fix: `use ${allowed.map((k) => ({ hf: "{ hf: \"owner/repo\" }", gguf: "{ gguf: { repo, file } }", ollama: "{ ollama: \"tag\" }" })[k]).join(" or ")}`,
      });
    }
    m.replicas.forEach((r, j) => {
      const base = `models[${i}].replicas[${j}]`;
      r.nodes.forEach((n, k) => {
        if (!nodeNames.has(n)) issues.push({ path: `${base}.nodes[${k}]`, message: `no node named "${n}"`, fix: `add it under nodes or use one of: ${[...nodeNames].join(", ") || "(none defined)"}` });
      });
      if (new Set(r.nodes).size !== r.nodes.length) issues.push({ path: `${base}.nodes`, message: "a node appears twice in one replica", fix: "list each node once; a node's GPUs form one stage" });
      if (r.gpus && r.nodes.length > 1) issues.push({ path: `${base}.gpus`, message: "GPU indices can only be chosen for a one-node replica", fix: "remove gpus, or split the replica" });
      if (r.layerSplit && r.layerSplit.length !== r.nodes.length) {
        issues.push({ path: `${base}.layerSplit`, message: `has ${r.layerSplit.length} entries for ${r.nodes.length} pipeline stages`, fix: "give one layer count per node, in node order" });
      }
      if (m.engine !== "vllm" && r.nodes.length > 1) {
        issues.push({ path: `${base}.nodes`, message: `${m.engine} runs a replica on one machine; ${r.nodes.length} nodes given`, fix: "use one node per replica (add replicas for more throughput), or engine vllm for multi-node pipelines" });
      }
      const providers = new Set(r.nodes.map((n) => providerOf.get(n)).filter(Boolean));
      if (r.nodes.length > 1 && providers.has("aws") && providers.size > 1) {
        issues.push({ path: `${base}.nodes`, message: "mixes AWS instances with your own hosts in one pipeline", fix: "Ray and NCCL need every stage on one private network: put all its nodes on AWS, or all on your own hosts" });
      }
      if (r.nodes.length > 1 && providers.has("docker")) {
        issues.push({ path: `${base}.nodes`, message: "a docker node cannot be a pipeline stage: Ray needs the host's network and a systemd-managed start order", fix: "use ssh nodes (or AWS) for multi-node replicas" });
      }
      if (m.engine !== "vllm" && r.layerSplit) {
        issues.push({ path: `${base}.layerSplit`, message: `${m.engine} has no pipeline stages to split`, fix: "remove layerSplit (llama.cpp and Ollama split layers across one node's GPUs themselves)" });
      }
    });
  });

  const used = new Set(spec.models.flatMap((m) => (m.engine === "external" ? [] : m.replicas.flatMap((r) => r.nodes))));
  spec.nodes.forEach((n, i) => {
    if (n.provider === "aws" && !used.has(n.name)) issues.push({ path: `nodes[${i}]`, message: `AWS node "${n.name}" runs no model but would be billed by the hour`, fix: "place a replica on it or remove the node" });
  });

  for (const [id, tiers] of Object.entries(spec.fallbacks ?? {})) {
    if (!knownModel(id)) issues.push({ path: `fallbacks.${id}`, message: `no model "${id}"`, fix: `use one of: ${modelList}` });
    tiers.forEach((t, k) => {
      if (t === id) issues.push({ path: `fallbacks.${id}[${k}]`, message: "a model cannot be its own fallback", fix: "name another model" });
      else if (!knownModel(t)) issues.push({ path: `fallbacks.${id}[${k}]`, message: `no model "${t}"`, fix: `use one of: ${modelList}` });
    });
    if (new Set(tiers).size !== tiers.length) issues.push({ path: `fallbacks.${id}`, message: "a tier is listed twice", fix: "list each fallback model once" });
  }

  const g = spec.gateway;
  for (const [keyName, key] of Object.entries(g.keys)) {
    key.models.forEach((mid, k) => {
      if (mid !== "*" && !knownModel(mid)) issues.push({ path: `gateway.keys.${keyName}.models[${k}]`, message: `no model "${mid}"`, fix: `use "*" or one of: ${modelList}` });
    });
    if (!g.rateClasses[key.rateClass]) {
      issues.push({ path: `gateway.keys.${keyName}.rateClass`, message: `no rate class "${key.rateClass}"`, fix: `define it under gateway.rateClasses or use one of: ${Object.keys(g.rateClasses).join(", ") || "(none defined)"}` });
    }
  }
  for (const [route, target] of Object.entries(g.routes ?? {})) {
    if (!knownModel(target)) issues.push({ path: `gateway.routes["${route}"]`, message: `no model "${target}"`, fix: `use one of: ${modelList}` });
    if (route.startsWith("/v1/") || route === "/v1" || route === "/health" || route === "/healthz") {
      issues.push({ path: `gateway.routes["${route}"]`, message: "collides with a gateway endpoint", fix: "choose a path outside /v1, /health and /healthz" });
    }
  }
  if (g.host && g.host !== "aws") {
    const host = spec.nodes.find((n) => n.name === g.host);
    if (!host) issues.push({ path: "gateway.host", message: `no node named "${g.host}"`, fix: 'use "aws" or the name of a docker node' });
    else if (host.provider !== "docker") issues.push({ path: "gateway.host", message: `node "${g.host}" is a ${host.provider} node`, fix: 'run the gateway on "aws" or on a docker node' });
    const awsNodes = spec.nodes.filter((n) => n.provider === "aws").map((n) => n.name);
    if (host && awsNodes.length > 0) {
      issues.push({ path: "gateway.host", message: `the engines of AWS nodes (${awsNodes.join(", ")}) are reachable only inside the fleet's VPC, not from docker node "${g.host}"`, fix: 'run the gateway on "aws" (remove gateway.host)' });
    }
  }
  return issues;
}
