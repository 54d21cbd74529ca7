/**
 * One container as the renderers describe it, before it becomes a Compose service. Engine
 * modules (vllm.ts, llamacpp.ts, ollama.ts, ray.ts) build these; compose.ts lays them out.
 */
import { ENGINE_API_KEY_SECRET } from "../plan/secrets";
import type { ServedEngine } from "../spec/schema";
import { ENGINE_UPSTREAM } from "./engines";

/** An environment variable whose value is a secret: written on the node into run/<service>.secrets.env. */
export interface SecretEnv {
  variable: string;
  secret: string;
}

/** Secrets an engine container reads: the key it checks (ENGINE_UPSTREAM apiKeyEnv) and the Hugging Face token for gated weights. */
export function engineSecretEnv(engine: "vllm" | "llamacpp", hfTokenSecret: string | undefined): SecretEnv[] {
  const env: SecretEnv[] = [{ variable: ENGINE_UPSTREAM[engine].apiKeyEnv!, secret: ENGINE_API_KEY_SECRET }];
  if (hfTokenSecret) env.push({ variable: "HF_TOKEN", secret: hfTokenSecret });
  return env;
}

/** A bind mount; `source` is relative to the node directory. */
export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  /**
   * A directory of data the containers keep and share (the usage state), not rendered files: on a
   * docker host, which has no node directory, a named volume (cloud/dockerContainers.ts).
   * @default false (caches under ./cache/ are volumes there too)
   */
  persistent?: boolean;
}

export type ServiceRole = "engine" | "ray-head" | "ray-worker" | "gateway";

export interface ContainerService {
  name: string;
  role: ServiceRole;
  /** The engine it runs; null for the gateway's nginx. */
  engine: ServedEngine | null;
  image: string;
  entrypoint: string[];
  command: string[];
  /** Non-secret environment, rendered into compose.yaml. */
  environment: Record<string, string>;
  secretEnv: SecretEnv[];
  /** Env files the node writes at boot (run/network.env), relative to the node directory. */
  bootEnvFiles: string[];
  /** Host GPU indices given to the container; [] = none. */
  gpus: number[];
  /** Ray and NCCL need the host's network; engines publish their one port. */
  network: { mode: "host" } | { mode: "bridge"; port: number };
  mounts: Mount[];
  /** Exec-form test; null = "running" is ready (Ray workers). */
  healthcheck: { test: string[]; startPeriodSeconds: number } | null;
  /** PyTorch shares tensors between processes through /dev/shm (vLLM's Docker docs: --ipc=host). */
  ipcHost: boolean;
  stopGraceSeconds: number;
}

/**
 * How Docker probes a health check, for every container of the fleet, written by compose.ts
 * (healthcheck:) and by cloud/dockerContainers.ts (the Docker API) alike.
 */
export const HEALTHCHECK_TIMING = { intervalSeconds: 30, timeoutSeconds: 10, retries: 3 } as const;

/** Weights downloads and engines log a lot; keep the root disk for weights. Both writers use it. */
export const CONTAINER_LOGGING = { driver: "json-file", options: { "max-size": "50m", "max-file": "5" } } as const;

/** Containers come back after a crash or a reboot of the Docker daemon, until stopped on purpose. */
export const CONTAINER_RESTART = "unless-stopped";

/** Where the secret env file of a service lives, relative to the node directory. */
export function secretEnvFile(serviceName: string): string {
  return `run/${serviceName}.secrets.env`;
}

/**
 * What bin/start.sh writes at boot into run/network.env, which the Ray containers read
 * (bootEnvFiles): the templates take these names from here.
 */
export const NETWORK_ENV = {
  file: "run/network.env",
  /** This node's address on the route to its peer: vLLM (VLLM_HOST_IP) and `ray start` bind to it. */
  nodeIp: "VLLM_HOST_IP",
  /** That route's interface, for Gloo (vLLM copies NCCL_* to Ray workers, not this: ray.ts). */
  socketInterface: "GLOO_SOCKET_IFNAME",
  /** A worker node's route to its head: the head's address. */
  headIp: "RAY_HEAD_IP",
} as const;
export const NETWORK_ENV_FILE = NETWORK_ENV.file;

/** Time a first start may take (weights download + load + CUDA graph capture) before failed health checks count. */
export const ENGINE_START_PERIOD_SECONDS = 3600;

/**
 * GPUs in the order the engine must see them. The container gets the GPUs; CUDA_DEVICE_ORDER=
 * PCI_BUS_ID makes the in-container numbering follow the host's (nvidia-smi) order instead of
 * CUDA's default "fastest first" — which would put an L40S before an A10G and give a mixed-GPU
 * pipeline's layers to the wrong cards. CUDA_VISIBLE_DEVICES then lists them in stage order.
 */
export function gpuOrder(gpusInStageOrder: number[]): { gpus: number[]; environment: Record<string, string> } {
  if (new Set(gpusInStageOrder).size !== gpusInStageOrder.length) {
    throw new Error(`render: GPU indices repeat in ${JSON.stringify(gpusInStageOrder)}`);
  }
  if (gpusInStageOrder.length === 0) return { gpus: [], environment: {} };
  const sorted = [...gpusInStageOrder].sort((a, b) => a - b);
  const visible = gpusInStageOrder.map((g) => sorted.indexOf(g));
  return {
    gpus: sorted,
    environment: { CUDA_DEVICE_ORDER: "PCI_BUS_ID", CUDA_VISIBLE_DEVICES: visible.join(",") },
  };
}

/** Exec-form health check through the image's own Python (the vLLM image has no curl guarantee). */
export function pythonHttpCheck(port: number, path: string): string[] {
  return ["CMD", "python3", "-c", `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${port}${path}', timeout=5)`];
}
