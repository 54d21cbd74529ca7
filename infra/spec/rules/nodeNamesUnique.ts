import type { SpecRule } from "./rule";

/** Node names become host names, folders and resource names: two nodes cannot share one. */
export const nodeNamesUnique: SpecRule = (spec) => {
  const seen = new Set<string>();
  return spec.nodes.flatMap((n, i) => {
    const duplicate = seen.has(n.name);
    seen.add(n.name);
    return duplicate ? [{ path: `nodes[${i}].name`, message: `"${n.name}" is used by two nodes`, fix: "give every node its own name" }] : [];
  });
};
