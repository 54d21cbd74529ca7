/**
 * ollama/serve.sh, the Ollama container's start script on every provider, run for real under
 * /bin/sh with a stand-in `ollama` (the image's binary is the only thing swapped): the container
 * turns healthy (its health check passes) only after every model is pulled and created, and a
 * failed pull ends it with the pull's exit code, which `docker compose up --wait` and the Docker
 * provider's `wait` both see as a container that never became healthy.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ServedModelPlan } from "../../infra/plan";
import { renderNode } from "../../infra/render";
import { OLLAMA_MODELS_READY_FILE, ollamaNode } from "../../infra/render/ollama";
import { workstationPlan } from "./support";

const plan = workstationPlan();
const node = plan.nodes.find((n) => ollamaNode(plan, n) !== null)!;
const { service } = ollamaNode(plan, node)!;
const script = renderNode(plan, node.name)["ollama/serve.sh"]!.contents;
const healthTest = service.healthcheck!.test;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * The script and health check with /bin/ollama and the ready file moved into a temp dir; the
 * stand-in logs each call, `serve` runs until killed, `pull <failTag>` exits 7.
 */
function sandbox(failTag?: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-ollama-"));
  dirs.push(dir);
  const bin = path.join(dir, "ollama");
  const ready = path.join(dir, "ready");
  const log = path.join(dir, "calls.log");
  fs.writeFileSync(
    bin,
    `#!/bin/sh\necho "$*" >>'${log}'\ncase "$1" in\n  serve) exec sleep 60 ;;\n  pull) [ "$2" = '${failTag ?? ""}' ] && { echo "pull failed" >&2; exit 7; } ;;\nesac\nexit 0\n`,
    { mode: 0o755 },
  );
  const swap = (text: string) => text.split("/bin/ollama").join(bin).split(OLLAMA_MODELS_READY_FILE).join(ready);
  fs.writeFileSync(path.join(dir, "serve.sh"), swap(script));
  return { dir, ready, calls: () => fs.readFileSync(log, "utf8").trim().split("\n"), health: () => healthTest.slice(1).map(swap) };
}

const healthy = (cmd: string[]) => spawnSync(cmd[0]!, cmd.slice(1)).status === 0;

describe("ollama/serve.sh", () => {
  it("is the container's entrypoint, and the health check needs the ready file", () => {
    expect(service.entrypoint).toEqual(["/bin/sh", "/etc/llm-fleet/ollama/serve.sh"]);
    expect(healthTest[0]).toBe("CMD");
    expect(healthTest.join(" ")).toContain(OLLAMA_MODELS_READY_FILE);
  });

  it("pulls and creates every model, then turns healthy and keeps serving", async () => {
    const box = sandbox();
    const child = spawn("/bin/sh", [path.join(box.dir, "serve.sh")], { stdio: ["ignore", "ignore", "pipe"] });
    try {
      const deadline = Date.now() + 10_000;
      while (!fs.existsSync(box.ready) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(healthy(box.health())).toBe(true);
      const models = plan.models.filter((m): m is ServedModelPlan => m.engine === "ollama" && m.replicas.some((r) => r.endpoint.node === node.name));
      const calls = box.calls();
      // serve runs in the background: its stand-in may log after the first `list` poll.
      expect(calls).toContain("serve");
      for (const m of models) {
        expect(calls).toContain(`pull ${(m.source as { ollama: string }).ollama}`);
        expect(calls.find((c) => c.startsWith(`create ${m.id} -f /etc/llm-fleet/ollama/`))).toBeDefined();
      }
      expect(child.exitCode).toBeNull(); // still serving
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("close", r));
    }
    expect(child.exitCode ?? 143).toBe(143);
  });

  it("exits with the failed pull's code and never turns healthy; a restart removes a stale ready file", async () => {
    const first = plan.models.find((m): m is ServedModelPlan => m.engine === "ollama" && m.replicas.some((r) => r.endpoint.node === node.name))!;
    const box = sandbox((first.source as { ollama: string }).ollama);
    fs.writeFileSync(box.ready, ""); // left by an earlier run of the same container
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn("/bin/sh", [path.join(box.dir, "serve.sh")], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(7);
    expect(result.stderr).toContain("pull failed");
    expect(fs.existsSync(box.ready)).toBe(false);
    expect(healthy(box.health())).toBe(false);
    expect(box.calls().some((c) => c.startsWith("create"))).toBe(false);
  });
});
