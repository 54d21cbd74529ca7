/**
 * `fleet preview up --name NAME [--base dev] [--ttl 24h] [--max-cost-per-hour USD] [--out DIR]`
 * `fleet preview down --name NAME`
 * `fleet preview sweep`
 * Short-lived copies of a fleet per branch or pull request (scripts/preview/), run through
 * Pulumi's Automation API on this repository's project.
 */
import * as path from "node:path";
import { FleetSpecError } from "../../infra/spec/errors";
import { RegistryInputError, generateRegistry, writeRegistryFiles } from "../../infra/registry";
import { SPEC_OPTIONS, UsageError, parseCommandArgs, type Command } from "../args";
import {
  DEFAULT_TTL,
  PreviewError,
  parseTtl,
  previewDown,
  previewStackName,
  previewSweep,
  previewUp,
  type PreviewBackend,
  type PreviewDeps,
  type SweepOutcome,
} from "../preview";

const USAGE = `usage: fleet preview up --name NAME [--base dev] [--ttl ${DEFAULT_TTL}] [--max-cost-per-hour USD] [--out DIR]
       fleet preview down --name NAME
       fleet preview sweep
  --ttl: how long the preview lives: 30m, 24h, 7d (one unit, at most 30d); sweep destroys it after that`;

const REPO_ROOT = path.resolve(__dirname, "../..");

export interface PreviewCommandDeps {
  /** Opened only when a subcommand needs it (it needs the Pulumi CLI). */
  backend: () => Promise<PreviewBackend>;
  now: () => Date;
  log: (line: string) => void;
  output: (text: string) => void;
  /** LLM_FLEET_KEY_<NAME> / LLM_FLEET_SECRET_<NAME> for the preview's keys and secrets. */
  env: Readonly<Record<string, string | undefined>>;
}

const OPTIONS = {
  ...SPEC_OPTIONS,
  name: { type: "string" },
  base: { type: "string", default: "dev" },
  ttl: { type: "string", default: DEFAULT_TTL },
  "max-cost-per-hour": { type: "string" },
  out: { type: "string" },
} as const;

/** For the fleet entry: flags are checked there; runPreview reads its subcommand itself. */
export const command: Command = { usage: USAGE, options: OPTIONS, positionals: true, run: ({ argv }) => run(argv) };

export function run(argv: string[]): Promise<number> {
  return runPreview(argv, {
    backend: async () => (await import("../preview/automation.js")).automationBackend(REPO_ROOT),
    now: () => new Date(),
    log: (line) => console.log(line),
    output: (text) => process.stdout.write(text),
    env: process.env,
  });
}

export async function runPreview(argv: string[], deps: PreviewCommandDeps): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandArgs(argv, OPTIONS);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
  const { values, positionals } = parsed;
  const [action, ...extra] = positionals;
  if (extra.length > 0) return usage(`unexpected ${extra.join(" ")}`);
  if (values.stack !== undefined || values.spec !== undefined) return usage("previews are made from a base stack: use --base NAME");
  try {
    switch (action) {
      case "up": {
        if (!values.name) return usage("up needs --name");
        previewStackName(values.name); // a bad name fails before Pulumi is started
        const ttlMs = parseTtl(values.ttl);
        const maxCostPerHourUSD = values["max-cost-per-hour"] === undefined ? undefined : parseUSD(values["max-cost-per-hour"]);
        const result = await previewUp(await open(deps), { name: values.name, base: values.base, ttlMs, maxCostPerHourUSD, env: deps.env });
        const dir = values.out ?? path.join("out", result.stack, "registry");
        const written = writeRegistryFiles(dir, generateRegistry(result.outputs, `the outputs of stack ${result.stack}`));
        deps.log(`${result.stack}: up, expires ${result.expiresAt}`);
        deps.log(`gateway: ${result.outputs.gatewayUrl}`);
        deps.log(`registry: ${written.join(", ")}`);
        return 0;
      }
      case "down":
        if (!values.name) return usage("down needs --name");
        previewStackName(values.name);
        await previewDown(await open(deps), values.name);
        return 0;
      case "sweep": {
        if (values.name !== undefined) return usage("sweep takes no --name: it looks at every preview stack");
        const outcomes = await previewSweep(await open(deps));
        const count = (kind: SweepOutcome["action"]) => outcomes.filter((o) => o.action === kind).length;
        deps.log(`sweep: ${count("destroyed")} destroyed, ${count("kept")} kept, ${count("skipped")} skipped, ${count("failed")} failed`);
        return count("failed") > 0 ? 1 : 0;
      }
      default:
        return usage(action ? `unknown action "${action}"` : "no action given");
    }
  } catch (err) {
    if (err instanceof PreviewError || err instanceof FleetSpecError || err instanceof RegistryInputError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }

  function usage(problem: string): number {
    console.error(`fleet preview: ${problem}\n${USAGE}`);
    return 2;
  }
}

async function open(deps: PreviewCommandDeps): Promise<PreviewDeps> {
  return { backend: await deps.backend(), now: deps.now, log: deps.log, output: deps.output };
}

function parseUSD(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw new PreviewError(`--max-cost-per-hour: "${text}" is not an amount in USD per hour; use a positive number such as 5 or 2.50`);
  }
  return value;
}
