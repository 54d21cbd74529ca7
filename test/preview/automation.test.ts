/**
 * scripts/preview/automation.ts through the real Automation API (LocalWorkspace, Stack), with a
 * stand-in `pulumi` on PATH (fake-pulumi-cli.mjs): the exact CLI commands the preview runs, and
 * that up, down and sweep work end to end through them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import { fleetOutputs } from "../../infra/registry";
import { FLEET_CONFIG_KEY, loadStackSpec } from "../../infra/spec/load";
import { automationBackend } from "../../scripts/preview/automation";
import { parseTtl, previewDown, previewSweep, previewUp, type ConfigJson, type PreviewDeps } from "../../scripts/preview";
import { configFromStackFile } from "./fake-backend";

const ROOT = path.resolve(__dirname, "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-automation-"));
const stateFile = path.join(dir, "state.json");
const workDir = path.join(dir, "repo");
const PATH = process.env.PATH;
const fleet = fleetOutputs(planFleet(loadStackSpec("dev")), "https://gw.example.net");
const devConfig: ConfigJson = { ...configFromStackFile(path.join(ROOT, "Pulumi.dev.yaml")), "llm-fleet:clientKeys": { value: '{"app":"ck-dev","admin":"ck-admin"}', secret: true } };

interface State {
  stacks: Record<string, { local: ConfigJson | null; deployed: ConfigJson | null; resources: number; outputs: Record<string, unknown> }>;
  commands: string[][];
  programOutputs: Record<string, { value: unknown; secret: boolean }>;
}
const state = (): State => JSON.parse(fs.readFileSync(stateFile, "utf8")) as State;
const commands = () => state().commands.map((c) => c.join(" "));
const lines: string[] = [];
const deps = async (now = "2026-03-01T10:00:00.000Z"): Promise<PreviewDeps> => ({ backend: await automationBackend(workDir), now: () => new Date(now), log: (l) => lines.push(l), output: () => {} });

beforeAll(() => {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.copyFileSync(path.join(__dirname, "fake-pulumi-cli.mjs"), path.join(bin, "pulumi"));
  fs.chmodSync(path.join(bin, "pulumi"), 0o755);
  fs.mkdirSync(workDir);
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
  const initial: State = {
    stacks: { dev: { local: devConfig, deployed: devConfig, resources: 9, outputs: {} } },
    commands: [],
    programOutputs: { gatewayUrl: { value: fleet.gatewayUrl, secret: false }, models: { value: fleet.models, secret: false }, clientKeys: { value: { app: "ck-dev" }, secret: true } },
  };
  fs.writeFileSync(stateFile, JSON.stringify(initial));
  process.env.PATH = `${bin}:${PATH}`;
  process.env.FAKE_PULUMI_STATE = stateFile;
});

afterAll(() => {
  process.env.PATH = PATH;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the Automation API backend", () => {
  it("refuses a work directory that is not the llm-fleet project", async () => {
    const other = path.join(dir, "other");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "Pulumi.yaml"), "name: something-else\nruntime: nodejs\n");
    await expect(automationBackend(other)).rejects.toThrow(/Pulumi.yaml is project "something-else", not llm-fleet/);
  });

  it("up: reads the base's config, creates the stack, sets its whole config in one set-all, runs up, reads the outputs", async () => {
    const before = state().commands.length;
    const result = await previewUp(await deps(), { name: "pr-7", base: "dev", ttlMs: parseTtl("24h"), env: { LLM_FLEET_KEY_APP: "ck-preview" } });
    expect(result.outputs).toEqual(fleet);

    const ran = commands().slice(before);
    expect(ran).toEqual([
      "version",
      "config --show-secrets --json --stack dev",
      "stack select --stack preview-pr-7",
      "stack init preview-pr-7",
      "config --show-secrets --json --stack preview-pr-7",
      expect.stringMatching(/^config set-all --stack preview-pr-7 --json \{/),
      "stack select --stack preview-pr-7",
      "up --yes --skip-preview --exec-kind auto.local --stack preview-pr-7",
      "stack output --json --stack preview-pr-7",
      "stack output --json --show-secrets --stack preview-pr-7",
      expect.stringMatching(/^stack history --json --show-secrets .*--stack preview-pr-7$/),
    ]);
    const config = state().stacks["preview-pr-7"]!.deployed!;
    expect((config[FLEET_CONFIG_KEY]!.objectValue as { name: string }).name).toBe("preview-pr-7");
    expect(config["llm-fleet:expiresAt"]).toEqual({ value: "2026-03-02T10:00:00.000Z", secret: false });
    expect(config["llm-fleet:clientKeys"]).toEqual({ value: '{"app":"ck-preview","admin":"ck-admin"}', objectValue: { app: "ck-preview", admin: "ck-admin" }, secret: true });
  });

  it("up again: selects the stack, removes config the base no longer has, updates", async () => {
    const s = state();
    s.stacks["preview-pr-7"]!.local!["llm-fleet:stale"] = { value: "x", secret: false };
    fs.writeFileSync(stateFile, JSON.stringify(s));
    const before = s.commands.length;
    await previewUp(await deps("2026-03-01T12:00:00.000Z"), { name: "pr-7", base: "dev", ttlMs: parseTtl("24h") });
    const ran = commands().slice(before);
    expect(ran).toContain("config rm-all --stack preview-pr-7 llm-fleet:stale");
    expect(ran.filter((c) => c.startsWith("stack init"))).toEqual([]);
    expect(state().stacks["preview-pr-7"]!.deployed!["llm-fleet:expiresAt"]?.value).toBe("2026-03-02T12:00:00.000Z");
  });

  it("down on a fresh runner: restores the deployed config, destroys, removes; again: nothing to do", async () => {
    const s = state();
    s.stacks["preview-pr-7"]!.local = null;
    fs.writeFileSync(stateFile, JSON.stringify(s));
    const before = s.commands.length;
    await expect(previewDown(await deps(), "pr-7")).resolves.toEqual({ stack: "preview-pr-7", status: "removed", destroyed: true });
    expect(commands().slice(before)).toEqual([
      "version",
      "stack ls --json",
      "config refresh --force --stack preview-pr-7",
      "config --show-secrets --json --stack preview-pr-7",
      "stack select --stack preview-pr-7",
      expect.stringMatching(/^destroy --yes --skip-preview .*--stack preview-pr-7$/),
      expect.stringMatching(/^stack history --json .*--stack preview-pr-7$/),
      "stack rm --yes preview-pr-7",
    ]);
    expect(state().stacks["preview-pr-7"]).toBeUndefined();
    await expect(previewDown(await deps(), "pr-7")).resolves.toEqual({ stack: "preview-pr-7", status: "absent" });
  });

  it("sweep: only the expired preview goes", async () => {
    await previewUp(await deps("2026-03-01T00:00:00.000Z"), { name: "old", base: "dev", ttlMs: parseTtl("1h") });
    await previewUp(await deps("2026-03-01T09:30:00.000Z"), { name: "new", base: "dev", ttlMs: parseTtl("1h") });
    const outcomes = await previewSweep(await deps("2026-03-01T10:00:00.000Z"));
    expect(outcomes).toEqual([
      { stack: "preview-old", action: "destroyed", expiresAt: "2026-03-01T01:00:00.000Z" },
      { stack: "preview-new", action: "kept", expiresAt: "2026-03-01T10:30:00.000Z" },
    ]);
    expect(Object.keys(state().stacks).sort()).toEqual(["dev", "preview-new"]);
    expect(state().stacks.dev!.resources).toBe(9);
  });
});
