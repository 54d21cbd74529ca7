/** A spec rule: one small pure check of a shape-valid, normalized spec (as cdk-nag's rules). */
import type { SpecIssue } from "../errors";
import type { FleetSpec } from "../schema";

export type SpecRule = (spec: FleetSpec) => SpecIssue[];

/** "use one of: a, b" for a fix, or a note that there is nothing to choose from. */
export const oneOf = (names: Iterable<string>) => [...names].join(", ") || "(none defined)";

export const modelIds = (spec: FleetSpec) => new Set(spec.models.map((m) => m.id));
export const nodeNames = (spec: FleetSpec) => new Set(spec.nodes.map((n) => n.name));

/** Every replica of every served model, with its spec path. */
export function replicas(spec: FleetSpec) {
  return spec.models.flatMap((m, i) =>
    m.engine === "external" ? [] : m.replicas.map((r, j) => ({ model: m, replica: r, path: `models[${i}].replicas[${j}]` })),
  );
}
