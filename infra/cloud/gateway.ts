/**
 * Gateway: nginx with the rendered router in front of the fleet, over HTTPS. On AWS (the
 * default): a small instance with an Elastic IP, booted by the same bootstrap as a GPU node and
 * reading its upstream keys and TLS key from Secrets Manager. On a docker node (gateway.host): the
 * same containers (nginx of the official image; with metering the usage service beside it, the
 * usage state on a named volume) with the files uploaded and the keys as secret env.
 * TLS: the spec's gateway.tls secrets, or a self-signed certificate for the address and domain.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { GatewayFleetPlan } from "../plan/gateway";
import { nginxEnvSecrets } from "../plan/secrets";
import type { NodePlan } from "../plan/types";
import { renderGateway } from "../render/gateway";
import { AwsGpuNode } from "./awsGpuNode";
import type { DockerHost } from "./dockerHost";
import { dependsOnOf } from "./dependsOn";
import { CONTAINER_RUN_OPTIONS, cacheVolumeName, containerPlan } from "./dockerContainers";
import { GATEWAY_FILES_SECRET, NGINX_IMAGE, SELF_SIGNED_TLS, DOCKER_DNS, gatewayServices, sameHostEndpoints, gatewayNodePlan, gatewayRenderOptions, gatewayTlsSecrets, renderAwsGatewayHost, tlsFile } from "./gatewayHost";
import { USAGE_SERVICE_IMAGE, USAGE_STATE_MOUNT } from "../render/usage/container";
import { Secrets } from "./secrets";
import { SelfSignedTls } from "./selfSignedTls";

/** Ubuntu's 8 GiB root snapshot, Docker, the nginx image (~200 MB) and logs. */
export const GATEWAY_DISK_GIB = 20;

export type GatewayPlacement =
  | {
      kind: "aws";
      /** A small general image (ami.ts GATEWAY_AMI), not the GPU one. */ amiId: pulumi.Input<string>;
      subnetId: pulumi.Input<string>;
      securityGroupIds: pulumi.Input<string>[];
      /** The fleet's private zone: the instance is named gatewayPrivateName there (the monitoring target). */
      privateZoneId: pulumi.Input<string>;
      instanceType: string;
      tags: Record<string, string>;
    }
  | { kind: "docker"; node: NodePlan; host: DockerHost };

export interface GatewayArgs {
  plan: GatewayFleetPlan;
  /** Client key values by key name (secret); only their hashes are rendered. */
  clientKeys: pulumi.Output<Record<string, string>>;
  /** The fleet's secrets: upstream keys, the engines' key, a provided TLS certificate. */
  secrets: Secrets;
  /** Secrets Manager id prefix `<fleet>/<stack>`. */
  secretIdPrefix: string;
  placement: GatewayPlacement;
}

const isIpv4 = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s);

export class Gateway extends pulumi.ComponentResource {
  /** https://<domain or address> */
  readonly url: pulumi.Output<string>;
  /** The self-signed certificate clients must trust; undefined with a provided certificate. */
  readonly certificatePem: pulumi.Output<string> | undefined;
  readonly instanceId: pulumi.Output<string> | undefined;
  readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:Gateway", name, {}, opts);
    const { plan, placement } = args;
    const domain = plan.gateway.domain;
    const parent = { parent: this };
    const value = (secret: string, from: Record<string, pulumi.Output<string>>) => {
      const v = from[secret];
      if (!v) throw new Error(`Gateway: secret "${secret}" is not in the stack`);
      return v;
    };

    if (placement.kind === "aws") {
      const address = new aws.ec2.Eip(`${name}-address`, { domain: "vpc", tags: { ...placement.tags, Name: `${plan.name}-gateway` } }, parent);
      let tlsArns: Record<string, pulumi.Output<string>> = {};
      // nginx reads the certificate at boot: a renewed or replaced one must roll the machine out.
      let certificate: pulumi.Output<string>;
      if (!plan.gateway.tls) {
        const cert = new SelfSignedTls(`${name}-tls`, { dnsNames: domain ? [domain] : [], ipAddresses: [address.publicIp] }, parent);
        this.certificatePem = cert.certificatePem;
        certificate = cert.certificatePem;
        const stored = new Secrets(
          `${name}-tls`,
          {
            prefix: args.secretIdPrefix,
            values: { [SELF_SIGNED_TLS.certificateSecret]: cert.certificatePem, [SELF_SIGNED_TLS.keySecret]: cert.privateKeyPem },
            generate: [],
            storeInAws: true,
            tags: placement.tags,
          },
          parent,
        );
        tlsArns = stored.arns;
      } else {
        certificate = value(plan.gateway.tls.certificateSecret, args.secrets.values);
      }
      const certificateSha256 = certificate.apply((pem) => createHash("sha256").update(pem).digest("hex"));
      const node = gatewayNodePlan(plan, placement.instanceType, GATEWAY_DISK_GIB);
      const host = args.clientKeys.apply((keys) => renderAwsGatewayHost(plan, node, keys, args.secretIdPrefix));
      const tls = gatewayTlsSecrets(plan);
      // The nginx files do not fit in user data: one secret, read at first boot (gatewayHost.ts).
      const files = new Secrets(
        `${name}-files`,
        { prefix: args.secretIdPrefix, values: { [GATEWAY_FILES_SECRET]: host.apply((h) => h.bundle.value) }, generate: [], storeInAws: true, tags: placement.tags },
        parent,
      );
      const arns = [
        ...[...nginxEnvSecrets(plan, true), tls.certificateSecret, tls.keySecret].map((s) => tlsArns[s] ?? value(s, args.secrets.arns)),
        files.arns[GATEWAY_FILES_SECRET]!,
      ];
      const machine = new AwsGpuNode(
        `${name}-machine`,
        {
          node,
          amiId: placement.amiId,
          subnetId: placement.subnetId,
          securityGroupIds: placement.securityGroupIds,
          privateZoneId: placement.privateZoneId,
          userData: host.apply((h) => h.files["user-data.yaml"]!.contents),
          secretArns: arns,
          tags: placement.tags,
          // No fixed address and no GPU quota: the old gateway serves until the new one exists.
          replacement: "create-first",
          rolloutTriggers: [certificateSha256],
        },
        { parent: this, dependsOn: dependsOnOf(opts) },
      );
      new aws.ec2.EipAssociation(`${name}-address`, { instanceId: machine.instanceId, allocationId: address.allocationId }, parent);
      this.instanceId = machine.instanceId;
      this.publicIp = address.publicIp;
      this.url = domain ? pulumi.output(`https://${domain}`) : pulumi.interpolate`https://${address.publicIp}`;
    } else {
      const hostAddress = placement.node.address;
      let certificate: pulumi.Output<string>;
      let key: pulumi.Output<string>;
      if (plan.gateway.tls) {
        certificate = value(plan.gateway.tls.certificateSecret, args.secrets.values);
        key = value(plan.gateway.tls.keySecret, args.secrets.values);
      } else {
        const names = [...(domain ? [domain] : []), ...(isIpv4(hostAddress) ? [] : [hostAddress])];
        const cert = new SelfSignedTls(`${name}-tls`, { dnsNames: names, ipAddresses: isIpv4(hostAddress) ? [hostAddress] : [] }, parent);
        certificate = cert.certificatePem;
        key = cert.privateKeyPem;
        this.certificatePem = cert.certificatePem;
      }
      const files = args.clientKeys.apply((keys) => renderGateway(plan, gatewayRenderOptions(keys, [DOCKER_DNS], sameHostEndpoints(plan, placement.node.name))));
      // The containers as on an AWS gateway host (gatewayServices, one description for compose.yaml
      // and the Docker API), their files uploaded. The TLS files join the uploads here, so every
      // upload and env entry below is secret-marked as a whole.
      const tls = gatewayTlsSecrets(plan);
      const containers = pulumi.all([files, certificate, key]).apply(([f, c, k]) => {
        const withTls = { ...f, [tlsFile(tls.certificateSecret)]: { contents: c }, [tlsFile(tls.keySecret)]: { contents: k } };
        return gatewayServices(plan, f).map((s) => containerPlan(placement.node.name, s, withTls));
      });
      // Checked here, so a missing secret fails at preview with its name.
      for (const s of nginxEnvSecrets(plan, true)) value(s, args.secrets.values);
      const secretValues = pulumi.all(args.secrets.values);
      const on = { parent: this, provider: placement.host.provider };
      const after = dependsOnOf(opts);
      const nginxImage = new docker.RemoteImage(`${name}-image`, { name: NGINX_IMAGE, keepLocally: true }, on);
      // The usage state outlives the containers and the stack, like the engines' caches.
      const state = plan.gateway.metering === true ? new docker.Volume(`${name}-usage-state`, { name: cacheVolumeName(USAGE_STATE_MOUNT.source) }, { ...on, retainOnDelete: true }) : null;
      const usageImage = state ? new docker.RemoteImage(`${name}-usage-image`, { name: USAGE_SERVICE_IMAGE, keepLocally: true }, on) : null;
      // Logical names: "-nginx" as before usage existed (no replacement of a running gateway), "-usage".
      const slots: [string, docker.RemoteImage][] = [[`${name}-nginx`, nginxImage], ...(usageImage ? [[`${name}-usage`, usageImage] as [string, docker.RemoteImage]] : [])];
      slots.forEach(([resourceName, image], i) => {
        const p = containers.apply((all) => all[i]!);
        new docker.Container(
          resourceName,
          {
            name: p.name,
            image: image.imageId,
            entrypoints: p.entrypoints,
            command: p.command,
            envs: pulumi.secret(
              pulumi.all([p, secretValues]).apply(([c, values]) => [...c.envs, ...c.secretEnv.map((e) => `${e.variable}=${values[e.secret]}`)]),
            ),
            uploads: pulumi.secret(p.uploads),
            ports: p.ports,
            volumes: p.volumes.apply((vs) => vs.map((v) => ({ volumeName: v.volumeName, containerPath: v.containerPath, readOnly: v.readOnly }))),
            networksAdvanced: [{ name: placement.host.networkName, aliases: [p.name] }],
            ...CONTAINER_RUN_OPTIONS,
            stopTimeout: p.stopTimeout,
          },
          { ...on, dependsOn: [...after, ...(state ? [state] : [])] },
        );
      });
      this.instanceId = undefined;
      this.publicIp = pulumi.output(hostAddress);
      this.url = pulumi.output(`https://${domain ?? hostAddress}`);
    }
    this.registerOutputs({ url: this.url, publicIp: this.publicIp });
  }
}
