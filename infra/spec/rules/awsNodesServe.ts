import type { SpecRule } from "./rule";

/** An AWS instance is billed by the hour whether or not it serves anything. */
export const awsNodesServe: SpecRule = (spec) => {
  const used = new Set(spec.models.flatMap((m) => (m.engine === "external" ? [] : m.replicas.flatMap((r) => r.nodes))));
  return spec.nodes.flatMap((n, i) =>
    n.provider === "aws" && !used.has(n.name) ? [{ path: `nodes[${i}]`, message: `AWS node "${n.name}" runs no model but would be billed by the hour`, fix: "place a replica on it or remove the node" }] : [],
  );
};
