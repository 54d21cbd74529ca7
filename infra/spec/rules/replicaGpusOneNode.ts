import { replicas, type SpecRule } from "./rule";

export const replicaGpusOneNode: SpecRule = (spec) =>
  replicas(spec).flatMap(({ replica, path }) =>
    replica.gpus && replica.nodes.length > 1 ? [{ path: `${path}.gpus`, message: "GPU indices can only be chosen for a one-node replica", fix: "remove gpus, or split the replica" }] : [],
  );
