import { replicas, type SpecRule } from "./rule";

export const layerSplitPerStage: SpecRule = (spec) =>
  replicas(spec).flatMap(({ replica: r, path }) =>
    r.layerSplit && r.layerSplit.length !== r.nodes.length
      ? [{ path: `${path}.layerSplit`, message: `has ${r.layerSplit.length} entries for ${r.nodes.length} pipeline stages`, fix: "give one layer count per node, in node order" }]
      : [],
  );
