/**
 * renderNode / renderFleet: every file a machine needs to serve its models, from the plan.
 * Pure: values in, { relative path: contents } out (templates are the only files read).
 */
import type { FleetPlan, NodePlan } from "../plan/types";
import { renderBootstrap, nodeSecrets, type NetworkFacts } from "./bootstrap";
import { renderCompose } from "./compose";
import { renderUserData } from "./cloudinit";
import { findNode, type NodeSecret, type RenderOptions } from "./layout";
import { llamaService } from "./llamacpp";
import { ollamaNode } from "./ollama";
import { isMultiNode, rayHead, rayMembership, rayWorker } from "./ray";
import type { ContainerService } from "./service";
import type { Artifacts } from "./templates";
import { vllmService } from "./vllm";

/** Artifact path of an AWS node's user data (not a file on the node itself). */
export const USER_DATA_FILE = "user-data.yaml";

export interface NodeContainers {
  services: ContainerService[];
  /** Files the containers mount (Ray entrypoints, Modelfiles, Ollama's start script). */
  files: Artifacts;
  network: NetworkFacts | null;
}

export function nodeContainers(plan: FleetPlan, node: NodePlan): NodeContainers {
  const hf = plan.spec.hfTokenSecret;
  const membership = rayMembership(plan);
  const services: ContainerService[] = [];
  let files: Artifacts = {};
  const add = (built: { service: ContainerService; files: Artifacts }) => {
    services.push(built.service);
    files = { ...files, ...built.files };
  };
  for (const model of plan.models) {
    if (model.engine === "external") continue;
    const engine = model.engine;
    for (const replica of model.replicas) {
      switch (engine) {
        case "vllm":
          if (isMultiNode(replica)) {
            const stage = replica.stages.findIndex((s) => s.node === node.name);
            if (stage === 0) add(rayHead(plan, model, replica));
            else if (stage > 0) add(rayWorker(plan, model, replica, stage));
          } else if (replica.nodes[0] === node.name) {
            services.push(vllmService(model, replica, hf));
          }
          break;
        case "llamacpp":
          if (replica.endpoint.node === node.name) services.push(llamaService(model, replica, hf));
          break;
        case "ollama":
          break; // one server for all of the node's Ollama models, below
        default: {
          const unreachable: never = engine;
          return unreachable;
        }
      }
    }
  }
  const ollama = ollamaNode(plan, node);
  if (ollama) add(ollama);

  const member = membership.get(node.name);
  let network: NetworkFacts | null = null;
  if (member) {
    const address = (name: string) => findNode(plan, name).address;
    network =
      member.stage === 0
        ? { peer: address(member.replica.stages[1]!.node), joinsHead: false }
        : { peer: address(member.replica.stages[0]!.node), joinsHead: true };
  }
  return { services, files, network };
}

/** The secrets a node needs, where their files go, and (aws) their Secrets Manager ids: for the Pulumi program. */
export function secretsOfNode(plan: FleetPlan, nodeName: string, options: RenderOptions = {}): NodeSecret[] {
  const node = findNode(plan, nodeName);
  return nodeSecrets(plan, node, nodeContainers(plan, node).services, options);
}

/** Every file of one node, relative to the node directory (/opt/llm-fleet on the machine). */
export function renderNode(plan: FleetPlan, nodeName: string, options: RenderOptions = {}): Artifacts {
  const node = findNode(plan, nodeName);
  const { services, files, network } = nodeContainers(plan, node);
  if (services.length === 0) return {};
  const secrets = nodeSecrets(plan, node, services, options);
  const onNode: Artifacts = {
    "compose.yaml": { contents: renderCompose(node, services) },
    ...files,
    ...renderBootstrap(node, services, secrets, network),
  };
  if (node.provider !== "aws") return onNode;
  return { ...onNode, [USER_DATA_FILE]: { contents: renderUserData(node, onNode) } };
}

/** Every node's files, as "<node>/<path>". The gateway's files are added by renderGateway. */
export function renderFleet(plan: FleetPlan, options: RenderOptions = {}): Artifacts {
  const all: Artifacts = {};
  for (const node of plan.nodes) {
    for (const [rel, artifact] of Object.entries(renderNode(plan, node.name, options))) all[`${node.name}/${rel}`] = artifact;
  }
  return all;
}
