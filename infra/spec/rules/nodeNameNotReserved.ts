import type { SpecRule } from "./rule";

/** Rendered files go to out/<stack>/<node>/… next to out/<stack>/gateway/…. */
export const nodeNameNotReserved: SpecRule = (spec) =>
  spec.nodes.flatMap((n, i) =>
    n.name === "gateway" ? [{ path: `nodes[${i}].name`, message: '"gateway" is reserved for the gateway\'s own files', fix: "name the node something else, e.g. gateway-box" }] : [],
  );
