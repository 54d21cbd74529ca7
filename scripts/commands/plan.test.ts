import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promtoolCheck } from "../../test/gateway/prometheus-harness";

const fleet = (...args: string[]) => fleetWithEnv({}, ...args);
const fleetWithEnv = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "scripts/fleet.ts", ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } });

describe("fleet plan", () => {
  it("prints the dev stack as a table per model and node", () => {
    const r = fleet("plan", "--stack", "dev");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^fleet dev \(stack dev\): 2 nodes, 2 GPUs, 3 models/m);
    expect(r.stdout).toMatch(/qwen3-32b\s+vllm 0\.21\.0\s+0\s+gpu-l40s\[L40S\]/);
    expect(r.stdout).toMatch(/gpu-l4\s+aws\s+g6\.xlarge\s+L4/);
  });

  it("runs as the package's `fleet` bin, without a build", () => {
    const r = spawnSync(process.execPath, ["scripts/fleet.js", "plan", "--stack", "dev"], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^fleet dev \(stack dev\)/m);
  });

  it("prints the plan as JSON with the documented fields", () => {
    const r = fleet("plan", "--spec", "examples/mixed-gpu-vllm.yaml", "--json");
    expect(r.status).toBe(0);
    const plan = JSON.parse(r.stdout);
    const r1 = plan.models.find((m: { id: string }) => m.id === "deepseek-r1-70b");
    expect(r1.engine).toBe("vllm");
    const replica = r1.replicas[0];
    for (const key of ["tensorParallel", "pipelineParallel", "layerSplit", "weightsGiB", "kvBytesPerToken", "kvCacheGiB", "contextLength", "maxConcurrentSequences", "gpuLayers", "totalLayers", "gpuFraction", "decodeTokensPerSecond", "costPerHourUSD"]) {
      expect(replica, key).toHaveProperty(key);
    }
    expect(replica.stages.map((s: { node: string; layers: number[] }) => [s.node, s.layers])).toEqual([
      ["r1-l40s-1", [0, 23]], ["r1-l40s-2", [23, 46]], ["r1-l40s-3", [46, 68]], ["r1-a10g", [68, 80]],
    ]);
    expect(plan.totals.costPerHourUSD).toBeCloseTo(13.2788, 3);
    expect(JSON.stringify(plan)).not.toContain('"spec"');
  });

  it("--out writes monitoring/prometheus.yml (accepted by promtool) and the Grafana dashboard beside the nodes' files", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-out-"));
    try {
      const cpu = fleet("plan", "--spec", "examples/cpu-llamacpp-fallback.yaml", "--out", out);
      expect(cpu.status).toBe(0);
      expect(cpu.stdout).toContain("monitoring/: prometheus.yml and grafana-dashboard.json (put the engines' API key in monitoring/engine-api-key");
      const yml = fs.readFileSync(path.join(out, "monitoring", "prometheus.yml"), "utf8");
      expect(yml).toMatch(/job_name: llm-fleet-llamacpp[\s\S]*credentials_file: engine-api-key/);
      // No metering in this fleet: no gateway /metrics to scrape.
      expect(yml).not.toContain("llm-fleet-gateway");
      fs.writeFileSync(path.join(out, "monitoring", "engine-api-key"), "k");
      const check = promtoolCheck(path.join(out, "monitoring", "prometheus.yml"));
      expect(check.output).toContain("SUCCESS");
      expect(check.ok).toBe(true);
      const dashboard = JSON.parse(fs.readFileSync(path.join(out, "monitoring", "grafana-dashboard.json"), "utf8"));
      expect(dashboard.panels.length).toBeGreaterThan(0);

      const metered = fleet("plan", "--spec", "examples/quotas-tiered.yaml", "--out", out);
      expect(metered.status).toBe(0);
      expect(metered.stdout).toContain("request limits count each request as the gateway sends it; up to 0.2 s of further requests may pass");
      const meteredYml = fs.readFileSync(path.join(out, "monitoring", "prometheus.yml"), "utf8");
      expect(meteredYml).toMatch(/job_name: llm-fleet-gateway[\s\S]*:9464/);
      expect(meteredYml).toMatch(/job_name: llm-fleet-vllm/);
      expect(promtoolCheck(path.join(out, "monitoring", "prometheus.yml")).ok).toBe(true);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("--out renders every node's files, and the gateway when the client keys are in the environment", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-out-"));
    const without = fleet("plan", "--stack", "dev", "--out", out);
    expect(without.status).toBe(0);
    expect(without.stdout).toMatch(/gateway\/ not rendered: .* set LLM_FLEET_KEY_APP .*, LLM_FLEET_KEY_ADMIN/);
    expect(fs.existsSync(path.join(out, "gpu-l40s", "compose.yaml"))).toBe(true);
    expect(fs.existsSync(path.join(out, "gateway"))).toBe(false);

    const keys = { LLM_FLEET_KEY_APP: "app-key-0123456789abcdef0123456789", LLM_FLEET_KEY_ADMIN: "admin-key-0123456789abcdef01234567" };
    const withKeys = fleetWithEnv(keys, "plan", "--stack", "dev", "--out", out);
    expect(withKeys.status).toBe(0);
    expect(fs.readFileSync(path.join(out, "gateway", "nginx.conf"), "utf8")).toMatch(/js_import/);
    const everything = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => fs.readFileSync(path.join(e.parentPath, e.name), "utf8")).join("\n");
    for (const key of Object.values(keys)) expect(everything).not.toContain(key);
    expect(withKeys.stdout + withKeys.stderr).not.toContain(keys.LLM_FLEET_KEY_APP);
  });

  it("exits 1 with every reason on stderr for an impossible spec", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-plan-"));
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(
      file,
      [
        "name: bad",
        "nodes: [{ name: l4, provider: aws, instanceType: g6.xlarge }]",
        "models:",
        "  - { id: big, engine: vllm, source: { hf: meta-llama/Llama-3.3-70B-Instruct }, replicas: [{ nodes: [l4] }] }",
        "  - { id: small, engine: vllm, source: { hf: Qwen/Qwen2.5-7B-Instruct }, contextLength: 99999, replicas: [{ nodes: [l4] }] }",
        "gateway: { keys: {}, rateClasses: {}, perIp: { requestsPerMinute: 1, burst: 1 } }",
      ].join("\n"),
    );
    const r = fleet("plan", "--spec", file);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/2 problems/);
    expect(r.stderr).toMatch(/models\[0\]\.replicas\[0\]\.nodes\[0\]: does not fit/);
    expect(r.stderr).toMatch(/models\[1\]\.contextLength: 99999 is beyond the model's maximum of 32768/);
  });
});
