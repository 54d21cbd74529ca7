/** Argument parsing shared by the fleet commands (node:util parseArgs, strict). */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadSpecFromArgs } from "../infra/spec/load";
import type { FleetSpec } from "../infra/spec/schema";

export const SPEC_OPTIONS = {
  stack: { type: "string" },
  spec: { type: "string" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

export function parseCommandArgs<O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  return parseArgs({ args: argv, options: { ...SPEC_OPTIONS, ...options }, allowPositionals: true, strict: true });
}

/** Loads the fleet named by --stack or --spec. */
export function specFromValues(values: { stack?: unknown; spec?: unknown }): { spec: FleetSpec; label: string } {
  return loadSpecFromArgs({
    stack: typeof values.stack === "string" ? values.stack : undefined,
    spec: typeof values.spec === "string" ? values.spec : undefined,
  });
}
