/** The renderer's containers as Docker API containers: what maps to what, and what is refused. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CONTAINER_RUN_OPTIONS, DOCKER_SSH_OPTIONS, cacheVolumeName, containerPlan } from "../../infra/cloud/dockerContainers";
import { nodeContainers } from "../../infra/render";
import { COMPOSE_WAIT_SECONDS } from "../../infra/render/bootstrap";
import { composeService } from "../../infra/render/compose";
import type { ContainerService } from "../../infra/render/service";
import { renderedFleets } from "../render/support";

const base: ContainerService = {
  name: "vllm-q-r0",
  role: "engine",
  engine: "vllm",
  image: "vllm/vllm-openai:v0.21.0",
  entrypoint: ["vllm", "serve"],
  command: ["Qwen/Qwen3-32B-AWQ", "--port", "8000"],
  environment: { VLLM_NO_USAGE_STATS: "1", CUDA_VISIBLE_DEVICES: "1,0" },
  secretEnv: [{ variable: "VLLM_API_KEY", secret: "engine-api-key" }],
  bootEnvFiles: [],
  gpus: [0, 2],
  network: { mode: "bridge", port: 8000 },
  mounts: [
    { source: "./cache/huggingface", target: "/root/.cache/huggingface", readOnly: false },
    { source: "./ray", target: "/etc/llm-fleet/ray", readOnly: true },
  ],
  healthcheck: { test: ["CMD", "true"], startPeriodSeconds: 3600 },
  ipcHost: true,
  stopGraceSeconds: 60,
};
const files = { "ray/x.head.sh": { contents: "#!/bin/sh\n", mode: 0o755 }, "ray/notes.txt": { contents: "n" }, "compose.yaml": { contents: "c" } };

describe("containerPlan", () => {
  it("maps GPUs, port, IPC, env, cache volumes, mounted files and the health check", () => {
    const p = containerPlan("box", base, files);
    expect(p).toMatchObject({
      name: "llm-fleet-vllm-q-r0",
      deviceRequests: [{ driver: "nvidia", deviceIds: ["0", "2"], capabilities: ["gpu"] }],
      ports: [{ internal: 8000, external: 8000 }],
      networkMode: "bridge",
      ipcMode: "host",
      envs: ["CUDA_VISIBLE_DEVICES=1,0", "VLLM_NO_USAGE_STATS=1"],
      secretEnv: [{ variable: "VLLM_API_KEY", secret: "engine-api-key" }],
      volumes: [{ volumeName: cacheVolumeName("./cache/huggingface"), containerPath: "/root/.cache/huggingface", readOnly: false }],
      uploads: [
        { file: "/etc/llm-fleet/ray/notes.txt", content: "n", executable: false },
        { file: "/etc/llm-fleet/ray/x.head.sh", content: "#!/bin/sh\n", executable: true },
      ],
      healthcheck: { tests: ["CMD", "true"], interval: "30s", timeout: "10s", retries: 3, startPeriod: "3600s" },
      stopTimeout: 60,
    });
    expect(cacheVolumeName("./cache/huggingface")).toBe("llm-fleet-cache-huggingface");
  });

  it("refuses containers that need boot-time facts (multi-node Ray), and mounts with nothing rendered", () => {
    expect(() => containerPlan("box", { ...base, bootEnvFiles: ["run/network.env"] }, files)).toThrow(/docker node "box" needs facts written at boot \(run\/network.env\).*run multi-node \(Ray\) replicas on aws or ssh nodes/);
    expect(() => containerPlan("box", { ...base, mounts: [{ source: "./ollama", target: "/x", readOnly: true }] }, files)).toThrow("mounts ./ollama, but no rendered file is there");
  });

  it("runs CPU containers without device requests and host-network ones without ports", () => {
    const p = containerPlan("box", { ...base, gpus: [], network: { mode: "host" }, mounts: [] }, files);
    expect(p.deviceRequests).toEqual([]);
    expect(p.ports).toEqual([]);
    expect(p.networkMode).toBe("host");
  });
});

describe("one service description, two writers", () => {
  // Every container of every example fleet, written for Compose (shell nodes) and for the Docker
  // API (docker nodes): health timings, restart policy and logging must come out the same.
  const services = renderedFleets().flatMap(({ plan }) => plan.nodes.flatMap((n) => nodeContainers(plan, n).services.map((s) => ({ s, files: nodeContainers(plan, n).files }))));
  it.each(services.map(({ s, files }) => [s.name, s, files] as const))("%s", (_name, s, files) => {
    const compose = composeService(s) as { healthcheck?: Record<string, unknown>; restart: string; logging: { driver: string; options: Record<string, string> } };
    expect(CONTAINER_RUN_OPTIONS).toEqual({ restart: compose.restart, logDriver: compose.logging.driver, logOpts: compose.logging.options });
    if (s.bootEnvFiles.length > 0) return; // Ray stages: refused on docker nodes (above)
    const api = containerPlan("box", s, files);
    if (!compose.healthcheck) {
      expect(api.healthcheck).toBeUndefined();
      expect(api.wait).toBeUndefined();
      return;
    }
    const h = compose.healthcheck;
    expect(api.healthcheck).toEqual({ tests: h.test, interval: h.interval, timeout: h.timeout, retries: h.retries, startPeriod: h.start_period });
    // The Docker provider waits as long as `docker compose up --wait` does.
    expect(api.wait).toEqual({ timeoutSeconds: COMPOSE_WAIT_SECONDS });
  });
});

describe("ssh to a Docker host", () => {
  const ssh = spawnSync("ssh", ["-V"]);
  // `ssh -G` prints the configuration ssh would use, after parsing the options as given: a
  // misspelt option or value fails here as it would under the Docker provider.
  it.skipIf(ssh.error !== undefined)("never prompts and sets an explicit host-key policy (accept-new: record a new key, refuse a changed one), as ssh itself reads the options", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-ssh-"));
    try {
      const r = spawnSync("ssh", ["-G", "-F", "/dev/null", ...DOCKER_SSH_OPTIONS, "ops@192.168.1.40"], { encoding: "utf8", env: { ...process.env, HOME: home } });
      expect(r.status, r.stderr).toBe(0);
      const effective = new Map(r.stdout.split("\n").map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]));
      expect(effective.get("batchmode")).toBe("yes");
      // Without it, BatchMode on a host missing from known_hosts fails: "Host key verification failed".
      expect(effective.get("stricthostkeychecking")).toBe("accept-new");
      expect(effective.get("connecttimeout")).toBe("20");
      expect(effective.get("user")).toBe("ops");
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
