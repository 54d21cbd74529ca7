#!/usr/bin/env node
/**
 * The `fleet` CLI. Each command lives in scripts/commands/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code).
 */
import { FleetSpecError } from "../infra/spec/errors";

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  plan: { summary: "plan a fleet: table or --json; --out DIR also renders every artifact", load: () => import("./commands/plan.js") },
  render: { summary: "render every artifact of a fleet to --out DIR", load: () => import("./commands/render.js") },
  gateway: { summary: "render the gateway and run nginx in the foreground on 127.0.0.1:--port", load: () => import("./commands/gateway.js") },
  registry: { summary: "write the typed model registry (registry.ts, registry.json)", load: () => import("./commands/registry.js") },
  preview: { summary: "preview environments: up | down | sweep", load: () => import("./commands/preview.js") },
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
