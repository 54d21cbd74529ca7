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
  stacks: Record<string, { local: ConfigJson | null; deployed: ConfigJson | null; resources: number; outputs: Record<string, unknown>; lockedSince?: string }>;
  commands: string[][];
  /** Every command line exactly as the CLI got it. */
  argv: string[][];
  failConfigSet?: string[];
  hangUp?: boolean;
  programOutputs: Record<string, { value: unknown; secret: boolean }>;
}
const state = (): State => JSON.parse(fs.readFileSync(stateFile, "utf8")) as State;
const commands = () => state().commands.map((c) => c.join(" "));
/** The secrets among `values` that some command line carried, in any argument, whole or in part. */
const onCommandLines = (values: string[]) => values.filter((v) => state().argv.some((args) => args.some((arg) => arg.includes(v))));
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
    argv: [],
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

  it("up: reads the base's config, creates the stack, sets its plain config in one set-all and each secret from stdin, runs up, reads the outputs", async () => {
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
      "config set --secret --stack preview-pr-7 llm-fleet:clientKeys",
      "stack select --stack preview-pr-7",
      // --refresh: a spot node AWS reclaimed drops out of the state and is created again.
      "up --yes --skip-preview --refresh --exec-kind auto.local --stack preview-pr-7",
      "stack output --json --stack preview-pr-7",
      "stack output --json --show-secrets --stack preview-pr-7",
      expect.stringMatching(/^stack history --json --show-secrets .*--stack preview-pr-7$/),
    ]);
    const config = state().stacks["preview-pr-7"]!.deployed!;
    expect((config[FLEET_CONFIG_KEY]!.objectValue as { name: string }).name).toBe("preview-pr-7");
    expect(config["llm-fleet:expiresAt"]).toEqual({ value: "2026-03-02T10:00:00.000Z", secret: false });
    // One secret string holding the JSON, as `pulumi config set --secret llm-fleet:clientKeys '{…}'` stores it.
    expect(config["llm-fleet:clientKeys"]).toEqual({ value: '{"app":"ck-preview","admin":"ck-admin"}', secret: true });
    expect(onCommandLines(["ck-preview", "ck-admin"])).toEqual([]);
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
      expect.stringMatching(/^destroy --yes --skip-preview --refresh .*--stack preview-pr-7$/),
      expect.stringMatching(/^stack history --json .*--stack preview-pr-7$/),
      "stack rm --yes preview-pr-7",
    ]);
    expect(state().stacks["preview-pr-7"]).toBeUndefined();
    await expect(previewDown(await deps(), "pr-7")).resolves.toEqual({ stack: "preview-pr-7", status: "absent" });
  });

  it("down: cancels an update left by a killed run (locked, started long ago), then destroys; refuses a live one", async () => {
    await previewUp(await deps(), { name: "pr-8", base: "dev", ttlMs: parseTtl("24h") });
    const lock = (since: string) => {
      const s = state();
      s.stacks["preview-pr-8"]!.lockedSince = since;
      fs.writeFileSync(stateFile, JSON.stringify(s));
    };
    lock("2026-03-01T10:50:00.000Z");
    await expect(previewDown(await deps("2026-03-01T11:00:00.000Z"), "pr-8")).rejects.toThrow(/an update is in progress \(started 10 minutes ago/);
    expect(state().stacks["preview-pr-8"]!.resources).toBe(4);

    lock("2026-03-01T08:00:00.000Z");
    const before = state().commands.length;
    await expect(previewDown(await deps("2026-03-01T11:00:00.000Z"), "pr-8")).resolves.toMatchObject({ status: "removed", destroyed: true });
    const ran = commands().slice(before);
    const at = (prefix: string) => ran.findIndex((c) => c.startsWith(prefix));
    expect(at("cancel")).toBeGreaterThan(at("stack history"));
    expect(at("destroy")).toBeGreaterThan(at("cancel"));
    expect(ran[at("cancel")]).toMatch(/--stack preview-pr-8/);
    expect(state().stacks["preview-pr-8"]).toBeUndefined();
  });

  it("up: gives Pulumi a deadline and interrupts it there (SIGINT), so the stack is left unlocked", async () => {
    // The abort path of the Automation API (automation/cmd.ts) against a CLI that never finishes.
    const s = state();
    s.hangUp = true;
    fs.writeFileSync(stateFile, JSON.stringify(s));
    try {
      const started = Date.now();
      await expect(previewUp(await deps(), { name: "pr-9", base: "dev", ttlMs: parseTtl("1h"), upTimeoutMs: 1500 })).rejects.toThrow(
        /preview-pr-9: pulumi up did not finish within 1.5 s and was interrupted; Pulumi stopped cleanly and the stack is unlocked/,
      );
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(state().stacks["preview-pr-9"]!.lockedSince).toBeUndefined();
    } finally {
      const after = state();
      delete after.hangUp;
      delete after.stacks["preview-pr-9"]; // out of the way of the sweep below
      fs.writeFileSync(stateFile, JSON.stringify(after));
    }
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

  it("replaceConfig: plain entries go in set-all, secrets through stdin only, and read back as given", async () => {
    const backend = await automationBackend(workDir);
    const stack = "preview-secrets";
    await backend.selectOrCreate(stack);
    const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n";
    const keys = { app: "ck-3f9a1c", admin: "123456" };
    const secrets = { "hf-token": "hf_QwErTy 'quoted' \"and\" spaced" };
    const asked: ConfigJson = {
      "aws:region": { value: "eu-west-1", secret: false },
      "llm-fleet:fleet": { value: '{"name":"preview-secrets"}', objectValue: { name: "preview-secrets" }, secret: false },
      "llm-fleet:clientKeys": { value: JSON.stringify(keys), objectValue: keys, secret: true },
      "llm-fleet:secrets": { value: JSON.stringify(secrets), objectValue: secrets, secret: true },
      "llm-fleet:sshPrivateKey": { value: pem, secret: true },
      "llm-fleet:providerKey": { value: "sk-provider-0001", secret: true },
    };
    const before = state().commands.length;
    await backend.replaceConfig(stack, asked);

    expect(commands().slice(before)).toEqual([
      `config --show-secrets --json --stack ${stack}`,
      `config set-all --stack ${stack} --json ${JSON.stringify({ "aws:region": asked["aws:region"], "llm-fleet:fleet": asked["llm-fleet:fleet"] })}`,
      `config set --secret --stack ${stack} llm-fleet:clientKeys`,
      `config set --secret --stack ${stack} llm-fleet:secrets`,
      `config set --secret --stack ${stack} llm-fleet:sshPrivateKey`,
      `config set --secret --stack ${stack} llm-fleet:providerKey`,
    ]);
    const secretValues = [...Object.values(keys), ...Object.values(secrets), "hf_QwErTy", "b3BlbnNzaC1rZXktdjE", "sk-provider-0001"];
    expect(onCommandLines(secretValues)).toEqual([]);

    // Plain entries exactly as asked; secrets as secret strings, objects as their JSON (which the
    // program's getSecretObject parses back to the same object), multi-line values byte for byte.
    const stored = await backend.getAllConfig(stack);
    expect(stored).toEqual({
      "aws:region": asked["aws:region"],
      "llm-fleet:fleet": asked["llm-fleet:fleet"],
      "llm-fleet:clientKeys": { value: JSON.stringify(keys), secret: true },
      "llm-fleet:secrets": { value: JSON.stringify(secrets), secret: true },
      "llm-fleet:sshPrivateKey": { value: pem, secret: true },
      "llm-fleet:providerKey": { value: "sk-provider-0001", secret: true },
    });
    expect(JSON.parse(stored["llm-fleet:clientKeys"]!.value!)).toEqual(keys);
    expect(JSON.parse(stored["llm-fleet:secrets"]!.value!)).toEqual(secrets);

    // A failed set names the stack and the key; the value stays out even when the CLI quotes it.
    const s = state();
    s.failConfigSet = ["llm-fleet:providerKey"];
    fs.writeFileSync(stateFile, JSON.stringify(s));
    const error = await backend.replaceConfig(stack, asked).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).toMatch(/^preview-secrets: pulumi config set --secret llm-fleet:providerKey failed: exit code 255/);
    expect(error?.message).toContain("[secret]");
    expect(error?.message).not.toContain("sk-provider-0001");

    const cleared = state();
    delete cleared.failConfigSet;
    fs.writeFileSync(stateFile, JSON.stringify(cleared));
    await backend.removeStack(stack);
  });
});
