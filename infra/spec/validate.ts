/** Cross-field checks of a shape-valid, normalized FleetSpec: every rule of rules/, every issue at once. */
import type { FleetSpec } from "./schema";
import type { SpecIssue } from "./errors";
import { SPEC_RULES } from "./rules";

export function validateReferences(spec: FleetSpec): SpecIssue[] {
  return Object.values(SPEC_RULES).flatMap((rule) => rule(spec));
}
