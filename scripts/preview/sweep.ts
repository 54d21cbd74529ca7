/** `fleet preview sweep`: destroy and remove every preview stack whose expiry has passed. */
import type { StackInfo } from "./backend";
import { staleUpdate, teardown } from "./down";
import { isPreviewStack } from "./names";
import { EXPIRES_AT_CONFIG_KEY } from "./overrides";
import type { PreviewDeps } from "./up";

export type SweepOutcome =
  | { stack: string; action: "destroyed" | "kept"; expiresAt: string }
  | { stack: string; action: "skipped" | "failed"; reason: string };

/**
 * Looks at every stack named preview-*; never at any other. The expiry is read from the config
 * of the stack's last update (what is actually running), so a fresh CI runner sees it too. One
 * stack failing does not stop the others.
 */
export async function previewSweep(deps: PreviewDeps): Promise<SweepOutcome[]> {
  const now = deps.now();
  const outcomes: SweepOutcome[] = [];
  for (const stack of (await deps.backend.listStacks()).filter((s) => isPreviewStack(s.name))) {
    const outcome = await sweepOne(deps, stack, now);
    deps.log(describe(outcome));
    outcomes.push(outcome);
  }
  if (outcomes.length === 0) deps.log("no preview stacks");
  return outcomes;
}

async function sweepOne(deps: PreviewDeps, stack: StackInfo, now: Date): Promise<SweepOutcome> {
  if (stack.updateInProgress) {
    // A lock left by a killed run is cancelled whether or not the preview has expired: it only
    // blocks the next push's update and this teardown.
    const stale = await staleUpdate(deps, stack);
    if (!stale.stale) return { stack: stack.name, action: "skipped", reason: `an update is in progress (${stale.why}); the next sweep looks again` };
    deps.log(`${stack.name}: ${stale.why}: its run is gone; cancelling it (pulumi cancel)`);
    try {
      await deps.backend.cancelUpdate(stack.name);
    } catch (err) {
      return { stack: stack.name, action: "failed", reason: `pulumi cancel: ${firstLine(err)}` };
    }
  }
  let expiresAt: string | undefined;
  try {
    expiresAt = (await deps.backend.restoreDeployedConfig(stack.name))[EXPIRES_AT_CONFIG_KEY]?.value;
  } catch (err) {
    return { stack: stack.name, action: "skipped", reason: `cannot read the config of its last update (${firstLine(err)}); if it is stale: fleet preview down` };
  }
  if (expiresAt === undefined || Number.isNaN(Date.parse(expiresAt))) {
    return { stack: stack.name, action: "skipped", reason: `no valid ${EXPIRES_AT_CONFIG_KEY} (${expiresAt ?? "unset"}); if it is stale: fleet preview down` };
  }
  if (Date.parse(expiresAt) > now.getTime()) return { stack: stack.name, action: "kept", expiresAt };
  try {
    await teardown(deps, stack);
    return { stack: stack.name, action: "destroyed", expiresAt };
  } catch (err) {
    return { stack: stack.name, action: "failed", reason: firstLine(err) };
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}

function describe(o: SweepOutcome): string {
  switch (o.action) {
    case "destroyed":
      return `${o.stack}: expired ${o.expiresAt}: destroyed and removed`;
    case "kept":
      return `${o.stack}: kept, expires ${o.expiresAt}`;
    case "skipped":
      return `${o.stack}: skipped: ${o.reason}`;
    case "failed":
      return `${o.stack}: FAILED: ${o.reason}`;
    default: {
      const unreachable: never = o;
      return unreachable;
    }
  }
}
