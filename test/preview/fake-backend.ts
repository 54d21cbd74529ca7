/**
 * An in-memory PreviewBackend that behaves like the Pulumi CLI where the orchestration depends
 * on it: a stack's local config (Pulumi.<stack>.yaml) is separate from the config of its last
 * update; `up` and `destroy` fail without llm-fleet:fleet in the local config (the program requires
 * it: requireObject); `stack rm` refuses while resources remain; a fresh CI runner has no
 * local config for stacks it did not create (`freshCheckout()`).
 */
import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import { planFleet } from "../../infra/plan";
import { fleetOutputs } from "../../infra/registry/outputs";
import { parseFleetSpec } from "../../infra/spec/parse";
import { FLEET_CONFIG_KEY } from "../../infra/spec/load";
import { UpTimeoutError, type ConfigJson, type OnOutput, type OutputEntry, type PreviewBackend, type StackInfo } from "../../scripts/preview";

interface FakeStack {
  /** Pulumi.<stack>.yaml on this machine; undefined when the file does not exist here. */
  local?: ConfigJson;
  /** Config of the last update, kept by the backend. */
  deployed?: ConfigJson;
  resources: number;
  updateInProgress?: boolean;
  /** When the update holding the lock started (what `pulumi stack history` reports). */
  updateStartedAt?: Date;
}

const clone = <T>(value: T): T => structuredClone(value);

/** A stack config file's `config:` block as `pulumi config --show-secrets --json` prints it. */
export function configFromStackFile(file: string): ConfigJson {
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(doc.config ?? {}).map(([key, v]) => {
      if (v && typeof v === "object" && "secure" in v) return [key, { value: `decrypted(${key})`, secret: true }];
      if (v && typeof v === "object") return [key, { value: JSON.stringify(v), objectValue: v, secret: false }];
      return [key, { value: String(v), secret: false }];
    }),
  );
}

export class FakeBackend implements PreviewBackend {
  readonly stacks = new Map<string, FakeStack>();
  /** Every mutating call, in order: "create preview-x", "up preview-x", "destroy preview-x" … */
  readonly calls: string[] = [];
  /** Stacks whose destroy throws (a cloud error). */
  readonly failDestroy = new Set<string>();
  /** Stacks whose `up` runs past any deadline (Pulumi interrupted: no outputs). */
  readonly hangUp = new Set<string>();
  /** The deadline each `up` was given. */
  readonly upTimeouts: number[] = [];

  /** A long-lived stack such as dev, with its committed config file. */
  addBaseStack(name: string, config: ConfigJson): void {
    this.stacks.set(name, { local: clone(config), deployed: clone(config), resources: 5 });
  }

  /** A stack as another runner left it: deployed with `config`, no local file here. */
  addDeployedStack(name: string, config: ConfigJson, extra: Partial<FakeStack> = {}): void {
    this.stacks.set(name, { deployed: clone(config), resources: 7, ...extra });
  }

  /** What a new CI runner sees: only committed stack files (none for previews). */
  freshCheckout(): void {
    for (const [name, s] of this.stacks) if (name.includes("preview-")) delete s.local;
  }

  private get(stack: string): FakeStack {
    const s = this.stacks.get(stack);
    if (!s) throw new Error(`no stack named '${stack}' found`);
    return s;
  }

  /** Pulumi refuses to update a stack another update holds: "the stack is currently locked". */
  private requireUnlocked(stack: string, s: FakeStack): void {
    if (s.updateInProgress) throw new Error(`the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`. (${stack})`);
  }

  private requireFleet(stack: string, s: FakeStack): void {
    if (!s.local?.[FLEET_CONFIG_KEY]) throw new Error(`Stack '${stack}' is missing configuration value 'fleet'`);
  }

  async listStacks(): Promise<StackInfo[]> {
    return [...this.stacks].map(([name, s]) => ({ name, resourceCount: s.resources, updateInProgress: s.updateInProgress }));
  }

  async getAllConfig(stack: string): Promise<ConfigJson> {
    return clone(this.get(stack).local ?? {});
  }

  async restoreDeployedConfig(stack: string): Promise<ConfigJson> {
    const s = this.get(stack);
    if (!s.deployed) throw new Error(`stack '${stack}' has no previous deployment`);
    s.local = clone(s.deployed);
    return clone(s.deployed);
  }

  async selectOrCreate(stack: string): Promise<void> {
    if (!this.stacks.has(stack)) {
      this.calls.push(`create ${stack}`);
      this.stacks.set(stack, { local: {}, resources: 0 });
    }
  }

  async replaceConfig(stack: string, config: ConfigJson): Promise<void> {
    this.calls.push(`config ${stack}`);
    this.get(stack).local = clone(config);
  }

  /** Runs "the program": the fleet from config, planned, exported as infra/index.ts exports it. */
  async up(stack: string, onOutput: OnOutput, timeoutMs: number): Promise<Record<string, OutputEntry>> {
    const s = this.get(stack);
    this.requireUnlocked(stack, s);
    this.requireFleet(stack, s);
    this.upTimeouts.push(timeoutMs);
    if (this.hangUp.has(stack)) {
      this.calls.push(`up ${stack} (interrupted)`);
      throw new UpTimeoutError(stack, timeoutMs);
    }
    this.calls.push(`up ${stack}`);
    onOutput(`Updating (${stack})\n`);
    const plan = planFleet(parseFleetSpec(s.local![FLEET_CONFIG_KEY]!.objectValue, stack));
    s.deployed = clone(s.local);
    s.resources = 3 + plan.nodes.length;
    const outputs = fleetOutputs(plan, `https://gw.${stack}.example.net`);
    return {
      gatewayUrl: { value: outputs.gatewayUrl, secret: false },
      models: { value: outputs.models, secret: false },
      nodes: { value: plan.nodes.map((n) => n.name), secret: false },
      costPerHourUSD: { value: plan.totals.costPerHourUSD, secret: false },
      clientKeys: { value: { app: "sk-fleet-app-SECRET" }, secret: true },
    };
  }

  async destroy(stack: string, onOutput: OnOutput): Promise<void> {
    const s = this.get(stack);
    this.requireUnlocked(stack, s);
    this.requireFleet(stack, s);
    if (this.failDestroy.has(stack)) throw new Error(`error: deleting instance of ${stack}: UnauthorizedOperation\nmore detail`);
    this.calls.push(`destroy ${stack}`);
    onOutput(`Destroying (${stack})\n`);
    s.resources = 0;
  }

  async runningUpdateStartedAt(stack: string): Promise<Date | undefined> {
    const s = this.get(stack);
    return s.updateInProgress ? s.updateStartedAt : undefined;
  }

  async cancelUpdate(stack: string): Promise<void> {
    const s = this.get(stack);
    if (!s.updateInProgress) throw new Error(`no update is in progress on stack ${stack}`);
    this.calls.push(`cancel ${stack}`);
    s.updateInProgress = false;
    delete s.updateStartedAt;
  }

  async removeStack(stack: string): Promise<void> {
    const s = this.get(stack);
    if (s.resources > 0) throw new Error(`'${stack}' still has resources; removal rejected`);
    this.calls.push(`remove ${stack}`);
    this.stacks.delete(stack);
  }
}
