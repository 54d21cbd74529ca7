/**
 * DockerHost: a machine reached only through its Docker daemon (local socket or ssh://). The
 * renderer's containers run as @pulumi/docker Containers: images pulled by pinned tag, GPUs as
 * device requests, caches on named volumes, scripts and Modelfiles uploaded, secrets as secret
 * env entries, the same health checks as compose.yaml. Each container with a health check
 * counts as created only once healthy (the provider's `wait`), so an engine that cannot start,
 * or an Ollama server whose model pull failed (its start script pulls before it reports
 * healthy, templates/ollama/serve.sh.hbs), fails `pulumi up` instead of passing it.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { NodePlan } from "../plan/types";
import type { Artifacts } from "../render";
import type { ContainerService } from "../render/service";
import { CONTAINER_RUN_OPTIONS, DOCKER_SSH_OPTIONS, containerPlan } from "./dockerContainers";

export interface DockerHostArgs {
  /** The planned node (provider "docker"). */
  node: NodePlan;
  /** nodeContainers(plan, node): services and the files they mount. */
  services: ContainerService[];
  files: Artifacts;
  /** Secret values by name, each a secret Output. */
  secrets: Record<string, pulumi.Input<string>>;
}

export class DockerHost extends pulumi.ComponentResource {
  /** The provider for this daemon (the gateway may run here too). */
  readonly provider: docker.Provider;
  /** The host's user-defined network: containers reach each other by name. */
  readonly networkName: pulumi.Output<string>;
  readonly containerIds: pulumi.Output<string>[];

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:DockerHost", name, {}, opts);
    const { node } = args;
    if (node.spec.provider !== "docker") throw new Error(`DockerHost: node "${node.name}" is not a docker node`);
    this.provider = new docker.Provider(`${name}-daemon`, { host: node.spec.host, sshOpts: [...DOCKER_SSH_OPTIONS] }, { parent: this });
    const on = { parent: this, provider: this.provider };
    const network = new docker.Network(`${name}-network`, { name: "llm-fleet" }, on);
    this.networkName = network.name;

    const plans = args.services.map((s) => containerPlan(node.name, s, args.files));
    const images = new Map<string, docker.RemoteImage>();
    const image = (ref: string) => {
      let found = images.get(ref);
      // Kept on the host at delete: engine images are many GB and shared with other stacks.
      if (!found) images.set(ref, (found = new docker.RemoteImage(`${name}-image-${ref.replace(/[^A-Za-z0-9.-]+/g, "-")}`, { name: ref, keepLocally: true }, on)));
      return found;
    };
    const volumes = new Map<string, docker.Volume>();
    for (const v of plans.flatMap((p) => p.volumes)) {
      // Weights caches survive the stack: re-downloading tens of GB is the slow part of a start.
      if (!volumes.has(v.volumeName)) volumes.set(v.volumeName, new docker.Volume(`${name}-${v.volumeName}`, { name: v.volumeName }, { ...on, retainOnDelete: true }));
    }

    const containers = plans.map((p) => {
      const secretEnvs = p.secretEnv.map((e) => {
        const value = args.secrets[e.secret];
        if (value === undefined) throw new Error(`DockerHost: container ${p.name} needs secret "${e.secret}", which the stack does not have`);
        return pulumi.interpolate`${e.variable}=${value}`;
      });
      return new docker.Container(
        `${name}-${p.name}`,
        {
          name: p.name,
          image: image(p.image).repoDigest,
          entrypoints: p.entrypoints,
          command: p.command,
          envs: secretEnvs.length > 0 ? pulumi.secret(pulumi.all([...p.envs, ...secretEnvs])) : p.envs,
          deviceRequests: p.deviceRequests,
          networkMode: p.networkMode,
          networksAdvanced: p.networkMode === "bridge" ? [{ name: network.name, aliases: [p.name] }] : undefined,
          ports: p.ports,
          ipcMode: p.ipcMode,
          volumes: p.volumes.map((v) => ({ volumeName: volumes.get(v.volumeName)!.name, containerPath: v.containerPath, readOnly: v.readOnly })),
          uploads: p.uploads,
          healthcheck: p.healthcheck,
          wait: p.wait !== undefined,
          waitTimeout: p.wait?.timeoutSeconds,
          ...CONTAINER_RUN_OPTIONS,
          stopTimeout: p.stopTimeout,
          destroyGraceSeconds: p.stopTimeout,
        },
        on,
      );
    });
    this.containerIds = containers.map((c) => c.id);

    this.registerOutputs({ containerIds: this.containerIds, networkName: this.networkName });
  }
}
