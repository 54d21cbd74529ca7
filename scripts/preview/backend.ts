/**
 * What preview orchestration needs from Pulumi, as a small interface: automation.ts implements it
 * over the Automation API (LocalWorkspace); tests implement it in memory. Shapes follow the
 * Pulumi CLI's JSON so the real implementation passes them through unchanged.
 */

/** One config value as `pulumi config --json` prints it and `pulumi config set-all --json` reads it. */
export interface ConfigEntry {
  /** The value as a string (objects and lists: their JSON). */
  value?: string;
  /** Objects and lists, as structured data. */
  objectValue?: unknown;
  secret: boolean;
}

/** A stack's config by key ("llm-fleet:fleet", "aws:region" …). */
export type ConfigJson = Record<string, ConfigEntry>;

export interface StackInfo {
  /** As the backend lists it: "preview-x", or qualified "org/preview-x". */
  name: string;
  /** Resources in the stack's state; undefined when the backend does not say. */
  resourceCount?: number;
  updateInProgress?: boolean;
}

export interface OutputEntry {
  value: unknown;
  secret: boolean;
}

export type OnOutput = (text: string) => void;

export interface PreviewBackend {
  /** Stacks of this project in the backend. */
  listStacks(): Promise<StackInfo[]>;
  /** `pulumi config --show-secrets --json --stack NAME`: Pulumi.<NAME>.yaml, secrets decrypted. */
  getAllConfig(stack: string): Promise<ConfigJson>;
  /**
   * The config the stack's last update ran with, written back to Pulumi.<stack>.yaml
   * (`pulumi config refresh`). A fresh CI checkout has no file for a preview stack, and destroy
   * needs the config (llm-fleet:fleet is required by Pulumi.yaml). Throws when the stack was
   * never deployed.
   */
  restoreDeployedConfig(stack: string): Promise<ConfigJson>;
  selectOrCreate(stack: string): Promise<void>;
  /** Makes the stack's config exactly `config`; secrets are encrypted with the stack's own key. */
  replaceConfig(stack: string, config: ConfigJson): Promise<void>;
  /**
   * `pulumi up --refresh` (a node the cloud lost drops out of the state and is created again);
   * returns the stack outputs (secret ones included, flagged). After `timeoutMs` Pulumi is
   * interrupted (SIGINT: it stops cleanly and unlocks the stack) and this throws UpTimeoutError.
   */
  up(stack: string, onOutput: OnOutput, timeoutMs: number): Promise<Record<string, OutputEntry>>;
  /** `pulumi destroy --refresh`. */
  destroy(stack: string, onOutput: OnOutput): Promise<void>;
  /**
   * When the update now holding the stack's lock started (the latest entry of `pulumi stack
   * history`, still in progress); undefined when the backend does not say.
   */
  runningUpdateStartedAt(stack: string): Promise<Date | undefined>;
  /** `pulumi cancel --yes`: ends the update holding the stack's lock, whose run is gone. */
  cancelUpdate(stack: string): Promise<void>;
  /** Deletes the stack, its config and history (refuses while resources remain). */
  removeStack(stack: string): Promise<void>;
}
