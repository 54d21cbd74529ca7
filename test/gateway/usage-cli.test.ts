/** `fleet gateway --metrics-port N` with metering: the usage service runs beside nginx; Ctrl-C stops both. */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { call, freePort, waitFor } from "./harness";

const ROOT = path.resolve(__dirname, "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
/** A fleet whose replica address nginx can resolve here (an AWS node's private name it could not). */
const SPEC_YAML = `name: meter
nodes:
  - { name: box, provider: ssh, host: ops@10.9.0.1, gpus: [L4] }
models:
  - { id: chat, engine: vllm, source: { hf: Qwen/Qwen2.5-7B-Instruct }, replicas: [{ nodes: [box] }] }
gateway:
  metering: true
  keys:
    acme: { models: [chat], rateClass: std, quota: { tokensPerDay: 10000000, tokensPerMonth: 300000000 } }
    ops: { models: ["*"], rateClass: std, admin: true }
  rateClasses: { std: { requestsPerMinute: 600, burst: 100, concurrency: 32 } }
  perIp: { requestsPerMinute: 1200, burst: 200 }
`;
const KEYS = { LLM_FLEET_KEY_ACME: "sk-acme-0123456789abcdef", LLM_FLEET_KEY_OPS: "sk-ops-0123456789abcdef" };

describe("fleet gateway with metering", () => {
  it("serves /metrics on --metrics-port (loopback), GET /v1/usage on the gateway, and stops both on Ctrl-C", async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-usage-cli-"));
    // nginx's workers run as "nobody" when the tests run as root: they must reach the usage directory.
    fs.chmodSync(tmp, 0o755);
    const usageDir = path.join(tmp, "usage");
    const SPEC = path.join(tmp, "fleet.yaml");
    fs.writeFileSync(SPEC, SPEC_YAML);
    const child = spawn(TSX, ["scripts/fleet.ts", "gateway", "--spec", SPEC, "--port", String(port), "--metrics-port", String(metricsPort), "--usage-dir", usageDir, "--out", path.join(tmp, "out")], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: tmp, ...KEYS }, detached: true, stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const metrics = await waitFor(async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
          return res.status === 200 ? res.text() : undefined;
        } catch {
          return undefined;
        }
      }, 60_000, "the metrics listener");
      expect(metrics).toContain('llm_fleet_quota_remaining{key="acme",window="day",kind="tokens"} 10000000');
      const usage = await waitFor(async () => {
        try {
          const u = await call(`http://127.0.0.1:${port}/v1/usage?key=acme`, { key: KEYS.LLM_FLEET_KEY_OPS });
          return u.status === 200 ? u : undefined;
        } catch {
          return undefined;
        }
      }, 10_000, "GET /v1/usage");
      expect(usage.json.month.limits.tokens).toBe(300_000_000);
      expect(stderr).toContain(`metrics at http://127.0.0.1:${metricsPort}/metrics`);
      // fleet usage prints every key's row with the admin key, and never a key.
      const table = await new Promise<string>((resolve, reject) =>
        execFile(TSX, ["scripts/fleet.ts", "usage", "--spec", SPEC, "--url", `http://127.0.0.1:${port}`], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: tmp, ...KEYS } }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
      );
      expect(table).toMatch(/^KEY\s+DAY\s+REQUESTS/);
      expect(table).toMatch(/\nacme\s+\d{4}-\d\d-\d\d\s+0\s+0\s+-\s+10,000,000\s+\d{4}-\d\d\s+0\s+0\s+-\s+300,000,000/);
      expect(table).toMatch(/\nops\s/);
      for (const k of Object.values(KEYS)) expect(table).not.toContain(k);
      process.kill(-child.pid!, "SIGINT");
      // 0 from the command, or 130 (SIGINT) when the tsx wrapper exits on the signal first.
      expect([0, 130]).toContain(await exit);
      // The service (in the same process group) saved its state and closed its listener.
      await waitFor(() => fs.existsSync(path.join(usageDir, "state.json")), 5000, "state.json");
      await waitFor(async () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(() => false, () => true), 5000, "the metrics listener to close");
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }, 90_000);
});
