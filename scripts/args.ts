/**
 * What every fleet command shares: its declaration (usage text, flags, whether it takes
 * positionals), the --stack/--spec flags, and UsageError. Arguments are parsed and argument
 * errors reported once, in scripts/fleet.ts; a command gets parsed values.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadSpecFromArgs } from "../infra/spec/load";
import type { FleetSpec } from "../infra/spec/schema";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export const SPEC_OPTIONS = {
  stack: { type: "string" },
  spec: { type: "string" },
} as const satisfies Options;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** The arguments as given (for commands that parse their own subcommands). */
  argv: string[];
}

export interface Command {
  /** Printed for --help (exit 0) and after an argument error (exit 2). */
  usage: string;
  /** Flags beside --help/-h. */
  options: Options;
  /** Takes positional arguments (subcommands); otherwise one is an argument error. */
  positionals?: boolean;
  run(args: ParsedArgs): Promise<number>;
}

/** A bad or missing argument: the entry prints it on one line with the usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** node:util parseArgs, strict; an unknown flag or missing value becomes a UsageError. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    if (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS")) {
      // Node's messages go on with advice about "--" that does not apply here: keep the first sentence.
      throw new UsageError(err.message.split(/\.\s/)[0]!.replace(/\.$/, ""));
    }
    throw err;
  }
}

/** The flag's value as a string, or undefined (parseArgs types every value as string | boolean). */
export const stringValue = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** Loads the fleet named by --stack or --spec. */
export function specFromValues(values: { stack?: unknown; spec?: unknown }): { spec: FleetSpec; label: string } {
  return loadSpecFromArgs({ stack: stringValue(values.stack), spec: stringValue(values.spec) });
}

/**
 * The stack whose resource and Secrets Manager names a render uses: --stack, or with --spec the
 * default stack of this project (Pulumi.dev.yaml), said in the output.
 */
export const ASSUMED_STACK = "dev";

export function renderStack(values: { stack?: unknown; "secret-id-prefix"?: unknown }): { stack: string; secretIdPrefix?: string; note?: string } {
  const stack = stringValue(values.stack);
  const secretIdPrefix = stringValue(values["secret-id-prefix"]);
  if (stack) return { stack, secretIdPrefix };
  return {
    stack: ASSUMED_STACK,
    secretIdPrefix,
    note: secretIdPrefix
      ? undefined
      : `no --stack given: resource and secret names assume stack "${ASSUMED_STACK}" (AWS nodes read Secrets Manager ids <fleet>/${ASSUMED_STACK}/<secret>; --secret-id-prefix changes that)`,
  };
}
