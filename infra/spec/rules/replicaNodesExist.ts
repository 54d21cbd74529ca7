import { nodeNames, oneOf, replicas, type SpecRule } from "./rule";

export const replicaNodesExist: SpecRule = (spec) => {
  const names = nodeNames(spec);
  return replicas(spec).flatMap(({ replica, path }) =>
    replica.nodes.flatMap((n, k) => (names.has(n) ? [] : [{ path: `${path}.nodes[${k}]`, message: `no node named "${n}"`, fix: `add it under nodes or use one of: ${oneOf(names)}` }])),
  );
};
