import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const fleet = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "scripts/fleet.ts", ...args], { encoding: "utf8", timeout: 60_000 });

describe("fleet plan", () => {
  it("prints the dev stack as a table per model and node", () => {
    const r = fleet("plan", "--stack", "dev");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^fleet dev \(stack dev\): 2 nodes, 2 GPUs, 3 models/m);
    expect(r.stdout).toMatch(/qwen3-32b\s+vllm\s+0\s+gpu-l40s\[L40S\]/);
    expect(r.stdout).toMatch(/gpu-l4\s+aws\s+g6\.xlarge\s+L4/);
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
