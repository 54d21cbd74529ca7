/**
 * Multi-node vLLM replicas on Ray, the executor vLLM itself uses across machines: a Ray head on
 * the stage-0 node that then runs the replica's one `vllm serve --distributed-executor-backend
 * ray`, and a Ray worker on every other stage node. Both run from the vLLM image (it ships Ray).
 * Ports are pinned so that security groups can list them exactly (clusterPorts()).
 */
import type { FleetPlan, ReplicaPlan, ServedModelPlan } from "../plan/types";
import { ENGINE_UPSTREAM } from "./engines";
import { engineServiceName, rayWorkerServiceName } from "./layout";
import { HF_CACHE_MOUNT, vllmEnvironment, vllmImage, vllmServeArgs } from "./vllm";
import { ENGINE_START_PERIOD_SECONDS, NETWORK_ENV, NETWORK_ENV_FILE, engineSecretEnv, gpuOrder, pythonHttpCheck, type ContainerService } from "./service";
import { renderTemplate, shellQuote, type Artifacts } from "./templates";

/**
 * Ray's ports, pinned (`ray start` options, docs.ray.io/en/latest/cluster/cli.html). Without
 * them Ray picks random ports for most of these, and no firewall rule could be exact.
 */
export const RAY_PORTS = {
  gcs: 6379, // --port (head)
  clientServer: 20386, // --ray-client-server-port (head)
  objectManager: 20380, // --object-manager-port
  nodeManager: 20381, // --node-manager-port
  dashboardAgentGrpc: 20382, // --dashboard-agent-grpc-port
  dashboardAgentListen: 20383, // --dashboard-agent-listen-port
  metricsExport: 20384, // --metrics-export-port
  runtimeEnvAgent: 20385, // --runtime-env-agent-port
  minWorker: 20400, // --min-worker-port: one port per Ray worker process
  maxWorker: 20499, // --max-worker-port
} as const;

/** vLLM's own internal ports start here (vllm-serve-args.json VLLM_PORT: base, then +1, +2 …). */
export const VLLM_PORT_BASE = 20500;
export const VLLM_PORT_COUNT = 16;

/**
 * NCCL (pipeline sends between stages) and Gloo connect on ephemeral ports that cannot be
 * pinned: the Linux default ip_local_port_range.
 */
export const EPHEMERAL_PORTS = { from: 32768, to: 60999 } as const;

export interface PortRule {
  from: number;
  to: number;
  protocol: "tcp";
  purpose: string;
}

/** TCP the nodes of one multi-node replica must accept from each other (and from nothing else). */
export function clusterPorts(): PortRule[] {
  const p = RAY_PORTS;
  return [
    { from: p.gcs, to: p.gcs, protocol: "tcp", purpose: "Ray GCS (head)" },
    { from: p.objectManager, to: p.clientServer, protocol: "tcp", purpose: "Ray object manager, node manager, agents, metrics, client server" },
    { from: p.minWorker, to: p.maxWorker, protocol: "tcp", purpose: "Ray worker processes" },
    { from: VLLM_PORT_BASE, to: VLLM_PORT_BASE + VLLM_PORT_COUNT - 1, protocol: "tcp", purpose: "vLLM distributed init (VLLM_PORT)" },
    { from: EPHEMERAL_PORTS.from, to: EPHEMERAL_PORTS.to, protocol: "tcp", purpose: "NCCL / Gloo peer connections (ephemeral)" },
  ];
}

/**
 * NCCL_SOCKET_IFNAME in its exclusion form: vLLM copies NCCL_* from the head to every Ray worker
 * (vllm/ray/ray_env.py DEFAULT_ENV_VAR_PREFIXES), so the value must hold on every node whatever
 * its interface is called (ens5 on Nitro, eth0 elsewhere). GLOO_SOCKET_IFNAME is not copied and
 * is set per node in run/network.env.
 */
const NCCL_SOCKET_IFNAME = "^lo,docker,veth,br-";

const HEAD_JOIN_TIMEOUT_SECONDS = 1800;
const SCRIPTS_MOUNT = { source: "./ray", target: "/etc/llm-fleet/ray", readOnly: true } as const;

function portArgs(): string[] {
  const p = RAY_PORTS;
  return [
    `--object-manager-port=${p.objectManager}`,
    `--node-manager-port=${p.nodeManager}`,
    `--dashboard-agent-grpc-port=${p.dashboardAgentGrpc}`,
    `--dashboard-agent-listen-port=${p.dashboardAgentListen}`,
    `--metrics-export-port=${p.metricsExport}`,
    `--runtime-env-agent-port=${p.runtimeEnvAgent}`,
    `--min-worker-port=${p.minWorker}`,
    `--max-worker-port=${p.maxWorker}`,
    "--disable-usage-stats",
  ];
}

export function rayHeadStartArgs(gpus: number): string[] {
  return ["--head", `--port=${RAY_PORTS.gcs}`, `--ray-client-server-port=${RAY_PORTS.clientServer}`, "--include-dashboard=false", `--num-gpus=${gpus}`, ...portArgs()];
}

export function rayWorkerStartArgs(gpus: number): string[] {
  return ["--block", `--num-gpus=${gpus}`, ...portArgs()];
}

export function isMultiNode(replica: ReplicaPlan): boolean {
  return new Set(replica.nodes).size > 1;
}

/** Refuses layouts the Ray rendering cannot express, with the reason. */
export function checkMultiNodeReplica(model: ServedModelPlan, replica: ReplicaPlan): void {
  const where = `model "${model.id}" replica ${replica.index}`;
  const stageNodes = replica.stages.map((s) => s.node);
  if (new Set(stageNodes).size !== stageNodes.length) {
    throw new Error(`render: ${where} spans nodes but puts several stages on one node (${stageNodes.join(", ")}); on Ray each stage node holds exactly one stage`);
  }
  for (const s of replica.stages) {
    if (s.gpus.length !== replica.tensorParallel) {
      throw new Error(`render: ${where} stage on "${s.node}" has ${s.gpus.length} GPUs but tensor parallel size ${replica.tensorParallel}; every Ray stage needs TP GPUs`);
    }
  }
}

/** Which node heads which multi-node replica, and the node each worker joins; a node in two clusters is refused (fixed ports). */
export function rayMembership(plan: FleetPlan): Map<string, { model: ServedModelPlan; replica: ReplicaPlan; stage: number }> {
  const membership = new Map<string, { model: ServedModelPlan; replica: ReplicaPlan; stage: number }>();
  for (const model of plan.models) {
    if (model.engine !== "vllm") continue;
    for (const replica of model.replicas) {
      if (!isMultiNode(replica)) continue;
      checkMultiNodeReplica(model, replica);
      replica.stages.forEach((stage, s) => {
        const other = membership.get(stage.node);
        if (other) {
          throw new Error(
            `render: node "${stage.node}" is in two multi-node replicas ("${other.model.id}" r${other.replica.index} and "${model.id}" r${replica.index}); Ray's ports are fixed per node, so give each multi-node replica its own nodes`,
          );
        }
        membership.set(stage.node, { model, replica, stage: s });
      });
    }
  }
  return membership;
}

function clusterEnvironment(stageGpus: number[]): { gpus: number[]; environment: Record<string, string> } {
  const order = gpuOrder(stageGpus);
  return { gpus: order.gpus, environment: { ...order.environment, NCCL_SOCKET_IFNAME } };
}

/** The head: Ray head + the replica's one `vllm serve` (exec'd by ray/<service>.head.sh). */
export function rayHead(plan: FleetPlan, model: ServedModelPlan, replica: ReplicaPlan): { service: ContainerService; files: Artifacts } {
  const name = engineServiceName("vllm", model.id, replica.index);
  const head = replica.stages[0]!;
  const cluster = clusterEnvironment(head.gpus);
  const workers = replica.stages.slice(1).map((s) => plan.nodes.find((n) => n.name === s.node)!.address);
  const script = renderTemplate("ray/head.sh.hbs", {
    model: model.id,
    replica: replica.index,
    nodes: replica.nodes.join(", "),
    rayStartArgs: rayHeadStartArgs(head.gpus.length).map(shellQuote).join(" "),
    workerAddresses: workers.map(shellQuote).join(" "),
    totalGpus: replica.tensorParallel * replica.pipelineParallel,
    joinTimeoutSeconds: HEAD_JOIN_TIMEOUT_SECONDS,
    networkEnv: NETWORK_ENV,
  });
  const port = replica.endpoint.port;
  const service: ContainerService = {
    name,
    role: "ray-head",
    engine: "vllm",
    image: vllmImage(replica),
    entrypoint: ["bash", `${SCRIPTS_MOUNT.target}/${name}.head.sh`],
    command: vllmServeArgs(model, replica),
    environment: { ...vllmEnvironment(replica), ...cluster.environment, VLLM_PORT: String(VLLM_PORT_BASE) },
    secretEnv: engineSecretEnv("vllm", plan.spec.hfTokenSecret),
    bootEnvFiles: [NETWORK_ENV_FILE],
    gpus: cluster.gpus,
    network: { mode: "host" },
    mounts: [HF_CACHE_MOUNT, SCRIPTS_MOUNT],
    healthcheck: { test: pythonHttpCheck(port, ENGINE_UPSTREAM.vllm.healthPath), startPeriodSeconds: ENGINE_START_PERIOD_SECONDS },
    ipcHost: true,
    stopGraceSeconds: 60,
  };
  return { service, files: { [`ray/${name}.head.sh`]: { contents: script, mode: 0o755 } } };
}

/** A worker: joins the head and lends its GPUs; vLLM's Ray executor starts the stage's workers on it. */
export function rayWorker(plan: FleetPlan, model: ServedModelPlan, replica: ReplicaPlan, stage: number): { service: ContainerService; files: Artifacts } {
  const name = rayWorkerServiceName(model.id, replica.index, stage);
  const s = replica.stages[stage]!;
  const cluster = clusterEnvironment(s.gpus);
  const script = renderTemplate("ray/worker.sh.hbs", {
    model: model.id,
    replica: replica.index,
    stage,
    headNode: replica.stages[0]!.node,
    gcsPort: RAY_PORTS.gcs,
    rayStartArgs: rayWorkerStartArgs(s.gpus.length).map(shellQuote).join(" "),
    networkEnv: NETWORK_ENV,
  });
  const service: ContainerService = {
    name,
    role: "ray-worker",
    engine: "vllm",
    image: vllmImage(replica),
    entrypoint: ["bash", `${SCRIPTS_MOUNT.target}/${name}.worker.sh`],
    command: [],
    environment: { ...cluster.environment, VLLM_NO_USAGE_STATS: "1", DO_NOT_TRACK: "1" },
    // Each stage loads its own layers from the hub: workers need the token and a cache too.
    secretEnv: engineSecretEnv("vllm", plan.spec.hfTokenSecret).filter((e) => e.variable === "HF_TOKEN"),
    bootEnvFiles: [NETWORK_ENV_FILE],
    gpus: cluster.gpus,
    network: { mode: "host" },
    mounts: [HF_CACHE_MOUNT, SCRIPTS_MOUNT],
    healthcheck: null,
    ipcHost: true,
    stopGraceSeconds: 30,
  };
  return { service, files: { [`ray/${name}.worker.sh`]: { contents: script, mode: 0o755 } } };
}
