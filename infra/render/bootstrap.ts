/**
 * The scripts and unit that bring a node up, the same on every provider: bin/start.sh (secrets
 * into env files, network facts, `docker compose up`, readiness), and where systemd runs the
 * node (aws, ssh) a unit that runs start.sh at every boot plus bin/install.sh. AWS nodes also
 * get bin/fetch-secrets.sh (Secrets Manager) and bin/report-ready.sh (an EC2 tag).
 */
import type { FleetPlan, NodePlan } from "../plan/types";
import { ENGINE_START_PERIOD_SECONDS, NETWORK_ENV, secretEnvFile, type ContainerService } from "./service";
import { NODE_ROOT, SYSTEMD_UNIT, secretIdPrefix, secretPath, type NodeSecret, type RenderOptions } from "./layout";
import { renderTemplate, shellQuote, type Artifacts } from "./templates";

/** The EC2 tag an AWS node sets on itself: "ready <time>" or "failed <time>". */
export const READY_TAG_KEY = "llm-fleet:status";
/** What the boot scripts of an AWS node call with the instance role (for its IAM policy). */
export const AWS_BOOT_ACTIONS = ["secretsmanager:GetSecretValue", "ec2:CreateTags"] as const;

/**
 * `docker compose up --wait` budget (and the Docker provider's wait on docker nodes): the engines'
 * start period plus time to pull images. Ollama's model pulls fall inside its start period.
 */
export const COMPOSE_WAIT_SECONDS = ENGINE_START_PERIOD_SECONDS + 1800;
const DOCKER = "/usr/bin/docker";

/** Ray membership of the node: whom to route to for the node's own address, and whether that peer is the head. */
export interface NetworkFacts {
  /** Address of a peer in the cluster (workers: the head; the head: its first worker). */
  peer: string;
  joinsHead: boolean;
}

/** The node's secrets: one file each under secrets/, and where AWS nodes read them. */
export function nodeSecrets(plan: FleetPlan, node: NodePlan, services: ContainerService[], options: RenderOptions): NodeSecret[] {
  const names = [...new Set(services.flatMap((s) => s.secretEnv.map((e) => e.secret)))].sort();
  const prefix = node.provider === "aws" ? secretIdPrefix(plan, options) : null;
  return names.map((name) => ({ name, path: secretPath(name), awsSecretId: prefix ? `${prefix}/${name}` : null }));
}

export function usesSystemd(node: NodePlan): boolean {
  // A docker node is a Docker daemon we reach over its socket or ssh://: no systemd assumed.
  return node.provider !== "docker";
}

export function renderBootstrap(
  node: NodePlan,
  services: ContainerService[],
  secrets: NodeSecret[],
  network: NetworkFacts | null,
): Artifacts {
  const aws = node.provider === "aws";
  const secretEnvCommands = services
    .filter((s) => s.secretEnv.length > 0)
    .map((s) => [secretEnvFile(s.name), ...s.secretEnv.map((e) => `${e.variable}=${e.secret}`)].map(shellQuote).join(" "));
  const files: Artifacts = {
    "bin/start.sh": {
      mode: 0o755,
      contents: renderTemplate("bootstrap/start.sh.hbs", {
        node: node.name,
        provider: node.provider,
        runs: usesSystemd(node)
          ? `${SYSTEMD_UNIT} runs it at every boot.`
          : "The Pulumi program runs it on each deploy; after a reboot Docker restarts the containers (restart: unless-stopped).",
        aws,
        fetchSecrets: aws && secrets.length > 0,
        gpus: services.some((s) => s.gpus.length > 0),
        hasSecretEnv: secretEnvCommands.length > 0,
        secretEnvCommands,
        secretSource: aws ? "fetched by bin/fetch-secrets.sh" : "copied there by the Pulumi program",
        network: network ? { peer: shellQuote(network.peer), joinsHead: network.joinsHead } : null,
        networkEnv: NETWORK_ENV,
        waitSeconds: COMPOSE_WAIT_SECONDS,
      }),
    },
  };
  if (usesSystemd(node)) {
    files["bin/install.sh"] = {
      mode: 0o755,
      contents: renderTemplate("bootstrap/install.sh.hbs", { node: node.name, unit: SYSTEMD_UNIT, root: NODE_ROOT }),
    };
    files[`systemd/${SYSTEMD_UNIT}`] = {
      contents: renderTemplate("bootstrap/llm-fleet.service.hbs", {
        node: node.name,
        root: NODE_ROOT,
        docker: DOCKER,
        // Image pulls, weights download and load, Ollama pulls: generous, but not forever.
        timeoutStartSeconds: COMPOSE_WAIT_SECONDS + 3600,
      }),
    };
  }
  if (aws && secrets.length > 0) {
    files["bin/fetch-secrets.sh"] = {
      mode: 0o755,
      contents: renderTemplate("bootstrap/fetch-secrets.sh.hbs", {
        node: node.name,
        secrets: secrets.map((s) => `${shellQuote(s.name)} ${shellQuote(s.awsSecretId!)}`),
      }),
    };
  }
  if (aws) {
    files["bin/report-ready.sh"] = {
      mode: 0o755,
      contents: renderTemplate("bootstrap/report-ready.sh.hbs", { node: node.name, tagKey: READY_TAG_KEY }),
    };
  }
  return files;
}
