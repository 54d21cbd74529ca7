/**
 * PreviewBackend over Pulumi's Automation API: a LocalWorkspace on the repository root (the
 * llm-fleet project and its Pulumi.yaml), driving the Pulumi CLI the way `pulumi` commands would.
 */
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { PreviewError } from "./errors";
import type { ConfigJson, OnOutput, OutputEntry, PreviewBackend, StackInfo } from "./backend";

export const PROJECT_NAME = "llm-fleet";

/** Needs the Pulumi CLI on PATH and a backend login (PULUMI_ACCESS_TOKEN or `pulumi login`). */
export async function automationBackend(workDir: string): Promise<PreviewBackend> {
  let workspace: LocalWorkspace;
  try {
    workspace = await LocalWorkspace.create({ workDir });
  } catch (err) {
    if (err instanceof Error && /ENOENT/.test(err.message)) {
      throw new PreviewError("the Pulumi CLI is not on PATH; fleet preview drives it through the Automation API\n  fix: install it (https://www.pulumi.com/docs/iac/download-install/) and log in (pulumi login, or PULUMI_ACCESS_TOKEN)");
    }
    throw err;
  }
  const project = await workspace.projectSettings();
  if (project.name !== PROJECT_NAME) {
    throw new PreviewError(`${workDir}/Pulumi.yaml is project "${project.name}", not ${PROJECT_NAME}: run fleet preview from the llm-fleet repository root`);
  }
  return new AutomationBackend(workspace);
}

class AutomationBackend implements PreviewBackend {
  constructor(private readonly workspace: LocalWorkspace) {}

  async listStacks(): Promise<StackInfo[]> {
    const stacks = await this.workspace.listStacks();
    return stacks.map((s) => ({ name: s.name, resourceCount: s.resourceCount, updateInProgress: s.updateInProgress }));
  }

  async getAllConfig(stack: string): Promise<ConfigJson> {
    // The CLI's JSON also carries `objectValue` for structured values, which ConfigMap's type omits.
    return (await this.workspace.getAllConfig(stack)) as unknown as ConfigJson;
  }

  async restoreDeployedConfig(stack: string): Promise<ConfigJson> {
    return (await this.workspace.refreshConfig(stack)) as unknown as ConfigJson;
  }

  async selectOrCreate(stack: string): Promise<void> {
    await Stack.createOrSelect(stack, this.workspace);
  }

  async replaceConfig(stack: string, config: ConfigJson): Promise<void> {
    const stale = Object.keys(await this.workspace.getAllConfig(stack)).filter((key) => !(key in config));
    if (stale.length > 0) await this.workspace.removeAllConfig(stack, stale);
    // set-all --json keeps objects as objects (llm-fleet:fleet) and secrets as secrets.
    await this.workspace.setAllConfigJson(stack, JSON.stringify(config));
  }

  async up(stack: string, onOutput: OnOutput): Promise<Record<string, OutputEntry>> {
    const result = await (await Stack.select(stack, this.workspace)).up({ onOutput });
    return result.outputs;
  }

  async destroy(stack: string, onOutput: OnOutput): Promise<void> {
    await (await Stack.select(stack, this.workspace)).destroy({ onOutput });
  }

  async removeStack(stack: string): Promise<void> {
    await this.workspace.removeStack(stack);
  }
}
