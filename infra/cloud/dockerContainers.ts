/**
 * The renderer's containers (the same ones compose.yaml describes) as @pulumi/docker Container
 * arguments, for hosts Pulumi drives through the Docker API instead of a shell: bind mounts of
 * the node directory become named volumes (caches, the usage state) and file uploads (scripts,
 * Modelfiles, the gateway's files),
 * secret env files become secret env entries. Pure: dockerHost.ts adds the Outputs.
 */
import { COMPOSE_WAIT_SECONDS } from "../render/bootstrap";
import { CONTAINER_LOGGING, CONTAINER_RESTART, HEALTHCHECK_TIMING, type ContainerService } from "../render/service";
import type { Artifacts } from "../render";

/**
 * `ssh` options for a Docker daemon at ssh://user@host (the provider runs the system ssh, as the
 * docker CLI does). BatchMode: never prompt, there is no terminal under `pulumi up`. And
 * BatchMode alone refuses every host not yet in ~/.ssh/known_hosts ("Host key verification
 * failed": a fresh host, any CI runner), so the policy is explicit: StrictHostKeyChecking=
 * accept-new records a new host's key on first contact and refuses a changed one. To trust no
 * first contact, put the key there beforehand: ssh-keyscan -H HOST >> ~/.ssh/known_hosts.
 */
export const DOCKER_SSH_OPTIONS = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=20"] as const;

/** Restart policy and log options of every container on a docker host, as compose.yaml sets them. */
export const CONTAINER_RUN_OPTIONS = {
  restart: CONTAINER_RESTART,
  logDriver: CONTAINER_LOGGING.driver,
  logOpts: { ...CONTAINER_LOGGING.options },
};

/** Container names on the host, as Compose would prefix them. */
export const containerName = (service: string) => `llm-fleet-${service}`;

export interface ContainerUpload {
  file: string;
  content: string;
  executable: boolean;
}

export interface ContainerPlan {
  name: string;
  image: string;
  entrypoints: string[];
  command: string[];
  /** Non-secret "NAME=value" entries. */
  envs: string[];
  /** Env variables whose value is a named secret. */
  secretEnv: { variable: string; secret: string }[];
  deviceRequests: { driver: string; deviceIds: string[]; capabilities: string[] }[];
  networkMode: "host" | "bridge";
  ports: { internal: number; external: number }[];
  ipcMode: "host" | undefined;
  volumes: { volumeName: string; containerPath: string; readOnly: boolean }[];
  uploads: ContainerUpload[];
  healthcheck: { tests: string[]; interval: string; timeout: string; retries: number; startPeriod: string } | undefined;
  /**
   * Wait for the health check to pass before the container counts as created (the provider's
   * `wait`), within the budget `docker compose up --wait` has on a shell node: a container that
   * never turns healthy (an engine that cannot load, an Ollama pull that fails) fails `pulumi up`.
   */
  wait: { timeoutSeconds: number } | undefined;
  stopTimeout: number;
}

/** Named volume for a cache or state directory of the node: ./cache/huggingface → llm-fleet-cache-huggingface, ./usage-state → llm-fleet-usage-state. */
export const cacheVolumeName = (source: string) => `llm-fleet-${source.replace(/^\.\//, "").replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`;

export function containerPlan(nodeName: string, s: ContainerService, files: Artifacts): ContainerPlan {
  if (s.bootEnvFiles.length > 0) {
    throw new Error(
      `DockerHost: container ${s.name} on docker node "${nodeName}" needs facts written at boot (${s.bootEnvFiles.join(", ")}), ` +
        "which only a node with a shell has: run multi-node (Ray) replicas on aws or ssh nodes",
    );
  }
  const volumes: ContainerPlan["volumes"] = [];
  const uploads: ContainerUpload[] = [];
  for (const m of s.mounts) {
    const dir = m.source.replace(/^\.\//, "");
    if (dir.startsWith("cache/") || m.persistent === true) {
      volumes.push({ volumeName: cacheVolumeName(m.source), containerPath: m.target, readOnly: m.readOnly });
      continue;
    }
    const single = files[dir];
    if (single) {
      // One rendered file mounted at its own path (the gateway's nginx.conf, the usage service's modules).
      if (single.secret) throw new Error(`DockerHost: ${dir} carries a secret and cannot be uploaded as a plain file`);
      uploads.push({ file: m.target, content: single.contents, executable: ((single.mode ?? 0o644) & 0o111) !== 0 });
      continue;
    }
    const inside = Object.keys(files).filter((path) => path.startsWith(`${dir}/`)).sort();
    if (inside.length === 0) throw new Error(`DockerHost: container ${s.name} mounts ${m.source}, but no rendered file is there`);
    for (const path of inside) {
      const file = files[path]!;
      if (file.secret) throw new Error(`DockerHost: ${path} carries a secret and cannot be uploaded as a plain file`);
      uploads.push({ file: `${m.target}/${path.slice(dir.length + 1)}`, content: file.contents, executable: ((file.mode ?? 0o644) & 0o111) !== 0 });
    }
  }
  return {
    name: containerName(s.name),
    image: s.image,
    entrypoints: s.entrypoint,
    command: s.command,
    envs: Object.entries(s.environment)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`),
    secretEnv: s.secretEnv,
    deviceRequests: s.gpus.length > 0 ? [{ driver: "nvidia", deviceIds: s.gpus.map(String), capabilities: ["gpu"] }] : [],
    networkMode: s.network.mode,
    ports: s.network.mode === "bridge" ? [{ internal: s.network.port, external: s.network.port }] : [],
    ipcMode: s.ipcHost ? "host" : undefined,
    volumes,
    uploads,
    // The same check and timings as compose.ts, so both ways of running a node behave alike.
    healthcheck: s.healthcheck
      ? {
          tests: s.healthcheck.test,
          interval: `${HEALTHCHECK_TIMING.intervalSeconds}s`,
          timeout: `${HEALTHCHECK_TIMING.timeoutSeconds}s`,
          retries: HEALTHCHECK_TIMING.retries,
          startPeriod: `${s.healthcheck.startPeriodSeconds}s`,
        }
      : undefined,
    wait: s.healthcheck ? { timeoutSeconds: COMPOSE_WAIT_SECONDS } : undefined,
    stopTimeout: s.stopGraceSeconds,
  };
}
