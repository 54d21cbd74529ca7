/** `fleet gateway`: keys from the environment, the system nginx in the foreground, Ctrl-C stops it. */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { call, freePort, waitFor } from "./harness";

const ROOT = path.resolve(__dirname, "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const SPEC = path.join(ROOT, "examples/l4-pair-text2sql.yaml");
const KEYS = { LLM_FLEET_KEY_ANALYTICS: "sk-analytics-0123456789abcdef", LLM_FLEET_KEY_CHAT_APP: "sk-chat-app-0123456789abcdef" };

const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, "SIGKILL");
});

/** Runs `fleet gateway …` in its own process group, as a terminal would. */
function fleet(args: string[], env: Record<string, string>) {
  const child = spawn(TSX, ["scripts/fleet.ts", "gateway", ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let stderr = "";
  let stdout = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exit, output: () => ({ stderr, stdout }) };
}

describe("fleet gateway", () => {
  it("refuses to start without the client keys, naming every variable to set and no value", async () => {
    const run = fleet(["--spec", SPEC, "--port", "18999"], { LLM_FLEET_KEY_ANALYTICS: KEYS.LLM_FLEET_KEY_ANALYTICS });
    expect(await run.exit).toBe(1);
    const { stderr } = run.output();
    expect(stderr).toContain('LLM_FLEET_KEY_CHAT_APP (the key clients send for gateway key "chat-app")');
    expect(stderr).not.toContain("LLM_FLEET_KEY_ANALYTICS");
    expect(stderr).not.toContain(KEYS.LLM_FLEET_KEY_ANALYTICS);
  });

  it("refuses a guessable key with the reason and without echoing it", async () => {
    const run = fleet(["--spec", SPEC, "--port", "18999"], { ...KEYS, LLM_FLEET_KEY_CHAT_APP: "tiny-key" });
    expect(await run.exit).toBe(1);
    const { stderr } = run.output();
    expect(stderr).toContain("gateway.keys.chat-app: the key must be at least 16 characters");
    expect(stderr).not.toContain("tiny-key");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a missing --port", async () => {
    const run = fleet(["--spec", SPEC], KEYS);
    expect(await run.exit).toBe(2);
    expect(run.output().stderr).toMatch(/^fleet gateway: --port N is required\nusage: fleet gateway/);
  });

  it("serves the fleet on 127.0.0.1:PORT until Ctrl-C, with files in --out holding no key", async () => {
    const port = await freePort();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gw-cli-"));
    try {
      const run = fleet(["--spec", SPEC, "--port", String(port), "--out", out], KEYS);
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await call(`${url}/healthz`).catch(() => ({ status: 0 }))).status === 200, 20_000, `fleet gateway on ${url}`);
      const models = await call(`${url}/v1/models`, { key: KEYS.LLM_FLEET_KEY_CHAT_APP });
      expect(models.json.data.map((m: { id: string }) => m.id)).toEqual(["qwen2.5-7b", "chat"]);
      const unknown = await call(`${url}/v1/chat/completions`, { key: KEYS.LLM_FLEET_KEY_ANALYTICS, body: { model: "gpt-4", messages: [] } });
      expect(unknown.status).toBe(404);
      expect(unknown.json.error.message).toContain("available: arctic-text2sql");

      const written = fs.readdirSync(path.join(out, "gateway"));
      expect(written).toEqual(expect.arrayContaining(["nginx.conf", "router.js", "health.js", "fleet.json"]));
      for (const f of ["nginx.conf", "fleet.json"]) {
        const text = fs.readFileSync(path.join(out, "gateway", f), "utf8");
        for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
      }

      process.kill(-run.child.pid!, "SIGINT");
      // 0 from the command, or 130 (SIGINT) when the tsx wrapper exits on the signal first.
      expect([0, 130]).toContain(await run.exit);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      const { stderr, stdout } = run.output();
      for (const key of Object.values(KEYS)) expect(stderr + stdout).not.toContain(key);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
