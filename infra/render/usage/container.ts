/**
 * The usage service as a container beside the gateway's nginx (AWS gateway host, docker node): the official
 * Node image running the rendered gateway/usage/service.mjs, sharing the usage directory with
 * nginx through a bind mount of the host's disk, so counters survive nginx reloads, container
 * restarts and reboots. Replacing the gateway instance starts from an empty directory (README).
 */
import type { Artifacts } from "../templates";
import type { ContainerService, Mount } from "../service";
import { DEFAULT_METRICS_PORT, DEFAULT_USAGE_DIR, type UsageRenderOptions } from "./gateway";
import { USAGE_SERVICE_CONFIG, USAGE_SERVICE_DIR } from "./files";

/**
 * Official Node image (Node 22 LTS; the service uses only the standard library), pinned to a
 * release as the nginx image is (node:22.21.0-alpine, published October 2025: docker-library
 * official-images library/node). A moving tag such as node:22-alpine would change under a
 * running fleet.
 */
export const USAGE_SERVICE_IMAGE = "node:22.21.0-alpine";
/** The usage directory inside both containers. */
export const USAGE_STATE_DIR = DEFAULT_USAGE_DIR;
/** The usage directory on the gateway host, relative to its node directory (on the root volume). */
export const USAGE_STATE_SOURCE = "./usage-state";
const SERVICE_ROOT = "/opt/llm-fleet-usage";

/** What the gateway renders with on a host: state in USAGE_STATE_DIR, /metrics on every interface (the security group limits it to gateway.metricsCidrs). */
export const HOST_USAGE_OPTIONS: UsageRenderOptions = { dir: USAGE_STATE_DIR, metrics: { host: "0.0.0.0", port: DEFAULT_METRICS_PORT } };

/** The mount nginx needs to write the usage log and read block files. */
export const USAGE_STATE_MOUNT: Mount = { source: USAGE_STATE_SOURCE, target: USAGE_STATE_DIR, readOnly: false, persistent: true };

export function usageServiceContainer(gateway: Artifacts): ContainerService {
  const files = Object.keys(gateway).filter((f) => f.startsWith(`${USAGE_SERVICE_DIR}/`)).sort();
  if (!files.includes(USAGE_SERVICE_CONFIG)) throw new Error("usage service: the gateway was rendered without metering");
  const inContainer = (f: string) => `${SERVICE_ROOT}/${f.slice(USAGE_SERVICE_DIR.length + 1)}`;
  return {
    name: "usage",
    role: "gateway",
    engine: null,
    image: USAGE_SERVICE_IMAGE,
    entrypoint: ["node"],
    command: [inContainer(`${USAGE_SERVICE_DIR}/service.mjs`), inContainer(USAGE_SERVICE_CONFIG)],
    environment: {},
    secretEnv: [],
    bootEnvFiles: [],
    gpus: [],
    network: { mode: "bridge", port: DEFAULT_METRICS_PORT },
    mounts: [...files.map((f) => ({ source: `./${f}`, target: inContainer(f), readOnly: true })), USAGE_STATE_MOUNT],
    healthcheck: null,
    ipcHost: false,
    // It saves its state on SIGTERM.
    stopGraceSeconds: 10,
  };
}
