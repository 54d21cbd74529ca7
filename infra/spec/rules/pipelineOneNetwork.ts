import type { SpecIssue } from "../errors";
import { replicas, type SpecRule } from "./rule";

/** Ray and NCCL need every stage of a pipeline on one private network, started in order by systemd. */
export const pipelineOneNetwork: SpecRule = (spec) => {
  const providerOf = new Map(spec.nodes.map((n) => [n.name, n.provider]));
  return replicas(spec).flatMap(({ replica: r, path }) => {
    if (r.nodes.length < 2) return [];
    const providers = new Set(r.nodes.map((n) => providerOf.get(n)).filter(Boolean));
    const issues: SpecIssue[] = [];
    if (providers.has("aws") && providers.size > 1) {
      issues.push({ path: `${path}.nodes`, message: "mixes AWS instances with your own hosts in one pipeline", fix: "Ray and NCCL need every stage on one private network: put all its nodes on AWS, or all on your own hosts" });
    }
    if (providers.has("docker")) {
      issues.push({ path: `${path}.nodes`, message: "a docker node cannot be a pipeline stage: Ray needs the host's network and a systemd-managed start order", fix: "use ssh nodes (or AWS) for multi-node replicas" });
    }
    return issues;
  });
};
