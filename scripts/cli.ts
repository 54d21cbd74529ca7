/**
 * The `fleet` CLI. Each command lives in scripts/commands/<name>.ts and exports `command` (its
 * usage, flags and run). Arguments are parsed and argument errors reported here, once: --help/-h
 * prints the usage (exit 0); an unknown flag, a missing value or a bad one prints one line naming
 * it and the usage (exit 2); a spec or input the user can fix prints what and where (exit 1).
 * Only a bug in the CLI itself prints a stack trace.
 */
import { RegistryInputError } from "../infra/registry/schema";
import { FleetSpecError } from "../infra/spec/errors";
import { PreviewError } from "./preview/errors";
import { parseCommandArgs, UsageError, type Command } from "./args";
import { command as gateway } from "./commands/gateway";
import { command as init } from "./commands/init";
import { command as plan } from "./commands/plan";
import { command as preview } from "./commands/preview";
import { command as registry } from "./commands/registry";
import { command as render } from "./commands/render";
import { command as schema } from "./commands/schema";
import { command as usage } from "./commands/usage";

export const COMMANDS: Record<string, { summary: string; command: Command }> = {
  init: { summary: "write a starter spec for your situation (--list shows them)", command: init },
  plan: { summary: "plan a fleet: table or --json; --out DIR also renders every artifact", command: plan },
  render: { summary: "render every artifact of a fleet to --out DIR", command: render },
  gateway: { summary: "render the gateway and run nginx in the foreground on 127.0.0.1:--port", command: gateway },
  usage: { summary: "each key's usage and remaining quota today and this month (GET /v1/usage)", command: usage },
  registry: { summary: "write the typed model registry (registry.ts, registry.json)", command: registry },
  preview: { summary: "preview environments: up | down | sweep", command: preview },
  schema: { summary: "print the FleetSpec JSON Schema (or --out FILE)", command: schema },
};

function overview(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  fleet ${name.padEnd(9)} ${c.summary}`);
  return `usage: fleet <command> [--stack NAME | --spec FILE.yaml] [options]\n${lines.join("\n")}\n  fleet <command> --help   the command's own usage`;
}

const HELP = ["--help", "-h"];

/** Errors a user fixes by changing input (their message says what and how); anything else is a bug. */
function isUserError(err: unknown): err is Error {
  return err instanceof FleetSpecError || err instanceof RegistryInputError || err instanceof PreviewError;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || HELP.includes(name) || name === "help") {
    (name === undefined ? console.error : console.log)(overview());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`fleet: ${name.startsWith("-") ? `unknown option "${name}"` : `unknown command "${name}"`}\n${overview()}`);
    return 2;
  }
  const command = entry.command;
  // --help anywhere (fleet preview up --help) asks for the usage, whatever else is there.
  if (rest.some((a) => HELP.includes(a))) {
    console.log(command.usage);
    return 0;
  }
  try {
    const { values, positionals } = parseCommandArgs(rest, command.options, command.positionals ?? false);
    return await command.run({ values: values as Record<string, string | boolean | undefined>, positionals, argv: rest });
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`fleet ${name}: ${err.message}\n${command.usage}`);
      return 2;
    }
    if (isUserError(err)) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

/** Runs the CLI on this process's arguments and exits with its code (scripts/fleet.ts). */
export function start(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
