/**
 * PreviewBackend over Pulumi's Automation API: a LocalWorkspace on the repository root (the
 * llm-fleet project and its Pulumi.yaml), driving the Pulumi CLI the way `pulumi` commands would.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { PreviewError, UpTimeoutError } from "./errors";
import type { ConfigEntry, ConfigJson, OnOutput, OutputEntry, PreviewBackend, StackInfo } from "./backend";

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
    // Plain entries in one set-all --json, which keeps objects as objects (llm-fleet:fleet). Its
    // JSON is a command-line argument, visible in the runner's process list: no secret goes in it.
    const plain = Object.fromEntries(Object.entries(config).filter(([, entry]) => !entry.secret));
    if (Object.keys(plain).length > 0) await this.workspace.setAllConfigJson(stack, JSON.stringify(plain));
    for (const [key, entry] of Object.entries(config)) {
      if (entry.secret) await setSecretFromStdin(this.workspace, stack, key, secretText(entry));
    }
  }

  async up(stack: string, onOutput: OnOutput, timeoutMs: number): Promise<Record<string, OutputEntry>> {
    const selected = await Stack.select(stack, this.workspace);
    // Abort = SIGINT to the CLI (automation/cmd.ts): Pulumi finishes what is in flight, saves the
    // state and releases the lock, unlike a CI job killed at its timeout.
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      return (await selected.up({ onOutput, refresh: true, signal: deadline })).outputs;
    } catch (err) {
      if (deadline.aborted) throw new UpTimeoutError(stack, timeoutMs);
      throw err;
    }
  }

  async destroy(stack: string, onOutput: OnOutput): Promise<void> {
    await (await Stack.select(stack, this.workspace)).destroy({ onOutput, refresh: true });
  }

  async runningUpdateStartedAt(stack: string): Promise<Date | undefined> {
    const latest = await (await Stack.select(stack, this.workspace)).info(false);
    return latest?.result === "in-progress" ? latest.startTime : undefined;
  }

  async cancelUpdate(stack: string): Promise<void> {
    await (await Stack.select(stack, this.workspace)).cancel();
  }

  async removeStack(stack: string): Promise<void> {
    await this.workspace.removeStack(stack);
  }
}

/**
 * A secret's value as one string. Objects (llm-fleet:clientKeys, llm-fleet:secrets) become their
 * JSON, stored as one secret string: how the stacks' own files hold them (`pulumi config set
 * --secret llm-fleet:clientKeys '{"app":"…"}'`), and what the program reads back identically with
 * getSecretObject/getObject (infra/cloud/settings.ts), which parse the string. Not `--path` per
 * leaf: the CLI turns a leaf that reads "true", "false" or an integer into a boolean or number.
 */
function secretText(entry: ConfigEntry): string {
  return entry.objectValue !== undefined ? JSON.stringify(entry.objectValue) : (entry.value ?? "");
}

/**
 * `pulumi config set --secret --stack STACK KEY` with the value on stdin, never on the command
 * line. Pulumi's CLI reference (https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/):
 * "If a value is not present on the command line, pulumi will prompt for the value. Multi-line
 * values may be set by piping a file to standard in." The CLI reads all of stdin when it is not a
 * terminal (even with --non-interactive) and removes one trailing newline, so one is added here:
 * a value's own trailing newline (a PEM key's) survives.
 *
 * Run the way LocalWorkspace.runPulumiCmd runs its commands: the workspace's CLI, in its workDir,
 * with PULUMI_HOME and the workspace's envVars over this process's environment, the CLI's own
 * directory first on PATH when it is an absolute path, and PULUMI_AUTOMATION_API=true.
 * A failure names the stack and key, never the value.
 */
async function setSecretFromStdin(workspace: LocalWorkspace, stack: string, key: string, value: string): Promise<void> {
  const command = workspace.pulumiCommand.command;
  const env: NodeJS.ProcessEnv = { ...process.env, ...(workspace.pulumiHome ? { PULUMI_HOME: workspace.pulumiHome } : {}), ...workspace.envVars };
  if (path.isAbsolute(command)) env.PATH = `${path.dirname(command)}${path.delimiter}${workspace.envVars.PATH ?? process.env.PATH ?? ""}`;
  env.PULUMI_AUTOMATION_API = "true";
  const args = ["config", "set", "--secret", "--non-interactive", "--stack", stack, key];
  const failed = (why: string) => new PreviewError(`${stack}: pulumi config set --secret ${key} failed: ${why}`);
  const { code, signal, stderr } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd: workspace.workDir, env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (err) => reject(failed(err.message)));
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
    child.stdin.on("error", () => {}); // EPIPE when the CLI exits without reading: its exit status says why
    child.stdin.end(`${value}\n`);
  });
  if (code !== 0) {
    const message = value === "" ? stderr.trim() : stderr.split(value).join("[secret]").trim();
    throw failed(`${signal ? `killed by ${signal}` : `exit code ${code}`}${message ? `\n  ${message}` : ""}`);
  }
}
