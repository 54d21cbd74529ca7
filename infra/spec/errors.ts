/** Problems with a fleet spec, reported all at once: where, what, and how to fix it. */
export interface SpecIssue {
  /** Spec path, e.g. "models[2].replicas[0].layerSplit". */
  path: string;
  /** What is wrong, with the numbers. */
  message: string;
  /** What would make it right. */
  fix: string;
}

export class FleetSpecError extends Error {
  constructor(
    readonly issues: SpecIssue[],
    readonly origin = "fleet spec",
  ) {
    super(formatIssues(issues, origin));
    this.name = "FleetSpecError";
  }
}

export function formatIssues(issues: SpecIssue[], origin: string): string {
  const lines = issues.map((i) => `  ${i.path || "(root)"}: ${i.message}\n    fix: ${i.fix}`);
  return `${origin}: ${issues.length} problem${issues.length === 1 ? "" : "s"}\n${lines.join("\n")}`;
}

/** Joins path segments the way users read them: models[2].replicas[0]. */
export function specPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => (typeof s === "number" ? `[${s}]` : !/^[A-Za-z_][\w-]*$/.test(String(s)) ? `[${JSON.stringify(String(s))}]` : i === 0 ? String(s) : `.${String(s)}`))
    .join("");
}
