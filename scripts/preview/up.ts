/** `fleet preview up`: create or update a preview stack from a base stack's config. */
import { planFleet } from "../../infra/plan";
import { parseFleetOutputs, type FleetOutputs } from "../../infra/registry";
import type { OnOutput, PreviewBackend } from "./backend";
import { PreviewError, UpTimeoutError } from "./errors";
import { PREVIEW_UP_TIMEOUT_MS } from "./limits";
import { isPreviewStack, previewStackName } from "./names";
import { PREVIEW_CONFIG_KEY, previewConfig, previewFleet, readBaseConfig } from "./overrides";
import { secretsFromEnv } from "./secrets";
import { expiresAt } from "./ttl";

/** What every preview operation runs against; injected so the logic runs in tests without Pulumi. */
export interface PreviewDeps {
  backend: PreviewBackend;
  /** The current time: expiry is set and judged against it. */
  now: () => Date;
  /** One line of report. */
  log: (line: string) => void;
  /** Pulumi's own progress text (up, destroy). */
  output: OnOutput;
}

export interface PreviewUpOptions {
  /** Branch, pull request ("pr-123") or any label; sanitized into the stack name. */
  name: string;
  /** Stack whose config the preview copies. */
  base: string;
  ttlMs: number;
  /** Refuse when the plan's hourly cost is above this. */
  maxCostPerHourUSD?: number;
  /** Where LLM_FLEET_KEY_<NAME> / LLM_FLEET_SECRET_<NAME> are read from (secrets.ts). @default none */
  env?: Readonly<Record<string, string | undefined>>;
  /** When `pulumi up` is interrupted. @default PREVIEW_UP_TIMEOUT_MS (limits.ts: fits the CI job) */
  upTimeoutMs?: number;
}

export interface PreviewUpResult {
  stack: string;
  expiresAt: string;
  /** The plan's estimate at on-demand prices (spot usually costs less). */
  costPerHourUSD: number;
  /** What the preview changed from the base fleet. */
  changes: string[];
  outputs: FleetOutputs;
}

export async function previewUp(deps: PreviewDeps, options: PreviewUpOptions): Promise<PreviewUpResult> {
  const stack = previewStackName(options.name);
  if (isPreviewStack(options.base)) {
    throw new PreviewError(`--base: ${options.base} is itself a preview; base previews on a long-lived stack such as dev`);
  }
  const baseConfig = await deps.backend.getAllConfig(options.base);
  const { spec: baseSpec, settings } = readBaseConfig(baseConfig, options.base);
  const { spec, changes } = previewFleet(baseSpec, settings, stack, options.base);
  // Planning before anything exists: a fleet that does not fit, or costs too much, creates nothing.
  const plan = planFleet(spec);
  const costPerHourUSD = plan.totals.costPerHourUSD;
  const cap = options.maxCostPerHourUSD;
  if (cap !== undefined && costPerHourUSD > cap) {
    const [cost, limit] = usd(costPerHourUSD, cap);
    throw new PreviewError(
      `${stack}: the plan costs ${cost}/hour (at on-demand prices), above --max-cost-per-hour ${limit}; nothing was created\n` +
        `  fix: raise --max-cost-per-hour, or cut the preview down with ${PREVIEW_CONFIG_KEY}: { maxReplicasPerModel: 1 } in Pulumi.${options.base}.yaml`,
    );
  }
  const expires = expiresAt(deps.now(), options.ttlMs);
  deps.log(`${stack}: preview of stack ${options.base}, ${usd(costPerHourUSD)[0]}/hour at most, expires ${expires}`);
  for (const change of changes) deps.log(`  ${change}`);
  const fromEnv = secretsFromEnv(plan, options.env ?? {});
  if (fromEnv.variables.length > 0) deps.log(`  from the environment: ${fromEnv.variables.join(", ")}`);

  await deps.backend.selectOrCreate(stack);
  await deps.backend.replaceConfig(stack, previewConfig(baseConfig, plan, expires, fromEnv));
  let outputs;
  try {
    outputs = await deps.backend.up(stack, deps.output, options.upTimeoutMs ?? PREVIEW_UP_TIMEOUT_MS);
  } catch (err) {
    if (!(err instanceof UpTimeoutError)) throw err;
    throw new PreviewError(
      `${err.message}; Pulumi stopped cleanly and the stack is unlocked, with what was created so far
` +
        `  fix: push again to retry, or tear it down: fleet preview down --name ${options.name} (sweep does after ${expires})`,
    );
  }
  const values = Object.fromEntries(Object.entries(outputs).map(([key, o]) => [key, o.value]));
  return { stack, expiresAt: expires, costPerHourUSD, changes, outputs: parseFleetOutputs(values, `stack ${stack} outputs`) };
}

/** Dollars with cents, or with as many more digits (up to 4) as it takes to tell the amounts apart. */
function usd(...amounts: number[]): string[] {
  for (let digits = 2; ; digits++) {
    const texts = amounts.map((a) => `$${a.toFixed(digits)}`);
    if (digits === 4 || new Set(texts).size === new Set(amounts).size) return texts;
  }
}
