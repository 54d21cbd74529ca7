import { replicas, type SpecRule } from "./rule";

export const replicaNodesDistinct: SpecRule = (spec) =>
  replicas(spec).flatMap(({ replica, path }) =>
    new Set(replica.nodes).size === replica.nodes.length ? [] : [{ path: `${path}.nodes`, message: "a node appears twice in one replica", fix: "list each node once; a node's GPUs form one stage" }],
  );
