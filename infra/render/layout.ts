/**
 * Where things live on a node, what services and secrets are called, and the options the
 * renderer takes. Every other render module takes names and paths from here.
 *
 * Node directory (the same on aws, ssh and docker nodes; artifacts are relative to it):
 *   compose.yaml                 every container of the node
 *   bin/start.sh                 bootstrap: secrets → env files, network facts, compose up, readiness
 *   bin/install.sh               (aws, ssh) installs and starts the systemd unit
 *   bin/fetch-secrets.sh         (aws) Secrets Manager → secrets/<name>, with the instance role
 *   bin/report-ready.sh          (aws) readiness as an EC2 tag
 *   systemd/llm-fleet.service    (aws, ssh) runs bin/start.sh at every boot
 *   ray/<service>.{head,worker}.sh   Ray entrypoints of multi-node vLLM replicas
 *   ollama/<model>.Modelfile, ollama/serve.sh (the container's start script)
 *   secrets/<name>               secret values, 0600 — never rendered: fetched (aws) or copied by Pulumi
 *   run/                         written on the machine at boot: <service>.secrets.env, network.env, ready
 *   cache/                       Hugging Face / llama.cpp / Ollama weights
 */
import type { FleetPlan, NodePlan } from "../plan/types";

export const NODE_ROOT = "/opt/llm-fleet";
export const SYSTEMD_UNIT = "llm-fleet.service";
/** Compose project name: container names become llm-fleet-<service>-1. */
export const COMPOSE_PROJECT = "llm-fleet";

export { ENGINE_API_KEY_SECRET } from "../plan/secrets";

export interface RenderOptions {
  /**
   * Pulumi stack name: AWS nodes read their secrets from Secrets Manager ids
   * `<fleet>/<stack>/<secret>`. Required when the fleet has AWS nodes (unless secretIdPrefix is given).
   * @example "dev"
   */
  stack?: string;
  /** Secrets Manager id prefix. @default `<fleet>/<stack>` */
  secretIdPrefix?: string;
}

/** A secret a node needs at run time: where its value must be on the node, and (aws) its Secrets Manager id. */
export interface NodeSecret {
  name: string;
  /** Absolute path on the node (0600, root). */
  path: string;
  /** AWS Secrets Manager id the node reads at boot; null on ssh/docker nodes, where Pulumi copies the file. */
  awsSecretId: string | null;
}

export function secretPath(name: string): string {
  return `${NODE_ROOT}/secrets/${name}`;
}

/** Where a stack keeps its secrets in AWS Secrets Manager: ids <fleet>/<stack>/<secret>. */
export function awsSecretIdPrefix(fleet: string, stack: string): string {
  return `${fleet}/${stack}`;
}

/** Only AWS nodes need it; asking for it without a stack is an error, never a guess. */
export function secretIdPrefix(plan: FleetPlan, options: RenderOptions): string {
  if (options.secretIdPrefix) return options.secretIdPrefix.replace(/\/+$/, "");
  if (options.stack) return awsSecretIdPrefix(plan.name, options.stack);
  throw new Error(
    `render: fleet "${plan.name}" has AWS nodes, whose secrets are read from Secrets Manager as <fleet>/<stack>/<secret>; ` +
      "pass { stack } (or { secretIdPrefix }) to renderFleet / renderNode",
  );
}

/** Compose service names: [a-z0-9-], unique per node. */
export function slug(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

export function engineServiceName(engine: string, modelId: string, replica: number): string {
  return `${engine}-${slug(modelId)}-r${replica}`;
}

export function rayWorkerServiceName(modelId: string, replica: number, stage: number): string {
  return `ray-${slug(modelId)}-r${replica}-s${stage}`;
}

export function findNode(plan: FleetPlan, nodeName: string): NodePlan {
  const node = plan.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`render: no node "${nodeName}" in fleet "${plan.name}" (nodes: ${plan.nodes.map((n) => n.name).join(", ")})`);
  return node;
}
