/** `fleet preview down`: destroy a preview and remove its stack. Idempotent. */
import type { StackInfo } from "./backend";
import { PreviewError } from "./errors";
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
    throw new PreviewError(`${stack}: an update is in progress; run down again when it has finished (or stop it: pulumi cancel --stack ${found.name})`);
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
