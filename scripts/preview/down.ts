/** `fleet preview down`: destroy a preview and remove its stack. Idempotent. */
import type { StackInfo } from "./backend";
import { PreviewError } from "./errors";
import { STALE_UPDATE_MS } from "./limits";
import { previewStackName, shortStackName } from "./names";
import type { PreviewDeps } from "./up";

export type PreviewDownResult =
  | { stack: string; status: "absent" }
  | { stack: string; status: "removed"; destroyed: boolean };

export async function previewDown(deps: PreviewDeps, name: string): Promise<PreviewDownResult> {
  const stack = previewStackName(name);
  const found = (await deps.backend.listStacks()).find((s) => shortStackName(s.name) === stack);
  if (!found) {
    deps.log(`${stack}: no such stack, nothing to tear down`);
    return { stack, status: "absent" };
  }
  if (found.updateInProgress) {
    const stale = await staleUpdate(deps, found);
    if (!stale.stale) throw new PreviewError(`${stack}: an update is in progress (${stale.why}); run down again when it has finished`);
    deps.log(`${stack}: ${stale.why}: its run is gone; cancelling it (pulumi cancel) before the teardown`);
    await deps.backend.cancelUpdate(found.name);
  }
  const destroyed = await teardown(deps, found);
  deps.log(`${stack}: ${destroyed ? "destroyed and removed" : "had no resources; removed"}`);
  return { stack, status: "removed", destroyed };
}

/**
 * Destroys a stack's resources, unless the backend says it has none, then removes the stack.
 * The config of its last update is restored first: destroy needs it, and a CI runner that did
 * not run the `up` has no Pulumi.<stack>.yaml. Returns whether anything was destroyed.
 */
export async function teardown(deps: PreviewDeps, stack: StackInfo): Promise<boolean> {
  const hasResources = stack.resourceCount === undefined || stack.resourceCount > 0;
  if (hasResources) {
    await deps.backend.restoreDeployedConfig(stack.name);
    await deps.backend.destroy(stack.name, deps.output);
  }
  await deps.backend.removeStack(stack.name);
  return hasResources;
}

/**
 * Whether the update holding a stack's lock belongs to a run that is gone: it started longer ago
 * than any `fleet preview up` may run (limits.ts). A live update is never cancelled; one whose
 * start the backend does not report is not judged stale.
 */
export async function staleUpdate(deps: PreviewDeps, stack: StackInfo): Promise<{ stale: boolean; why: string }> {
  const started = await deps.backend.runningUpdateStartedAt(stack.name);
  if (started === undefined) {
    return { stale: false, why: `the backend does not say when it started; if its run is gone: pulumi cancel --stack ${stack.name}` };
  }
  const minutes = Math.floor((deps.now().getTime() - started.getTime()) / 60_000);
  if (deps.now().getTime() - started.getTime() > STALE_UPDATE_MS) return { stale: true, why: `the update started ${minutes} minutes ago` };
  return { stale: false, why: `started ${minutes} minutes ago; a preview's update runs at most ${STALE_UPDATE_MS / 60_000} minutes` };
}
