#!/usr/bin/env node
/**
 * The `fleet` CLI. Each command lives in scripts/commands/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code).
 */
import { FleetSpecError } from "../infra/spec/errors";

interface Command {
  run(argv: string[]): Promise<number>;
}

// Loaded on demand (require, not import(): the CLI is CommonJS, and `npx fleet` runs it through tsx's require hook).
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  plan: { summary: "plan a fleet: table or --json; --out DIR also renders every artifact", load: async () => require("./commands/plan") as Command },
  render: { summary: "render every artifact of a fleet to --out DIR", load: async () => require("./commands/render") as Command },
  gateway: { summary: "render the gateway and run nginx in the foreground on 127.0.0.1:--port", load: async () => require("./commands/gateway") as Command },
  usage: { summary: "each key's usage and remaining quota today and this month (GET /v1/usage)", load: async () => require("./commands/usage") as Command },
  registry: { summary: "write the typed model registry (registry.ts, registry.json)", load: async () => require("./commands/registry") as Command },
  preview: { summary: "preview environments: up | down | sweep", load: async () => require("./commands/preview") as Command },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  fleet ${name.padEnd(9)} ${c.summary}`);
  return `usage: fleet <command> [--stack NAME | --spec FILE.yaml] [options]\n${lines.join("\n")}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`fleet: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (err) {
    if (err instanceof FleetSpecError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack ?? err.message : String(err));
    process.exit(1);
  },
);
