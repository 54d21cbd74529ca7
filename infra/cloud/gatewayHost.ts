/**
 * The machine the gateway runs on, described the way the renderer describes engine nodes: nginx
 * (the official image, with njs) as one container whose upstream keys come from secret env files
 * and whose TLS files come from secrets/, so an AWS gateway boots with the very same bootstrap as
 * a GPU node (fetch-secrets.sh, start.sh, the systemd unit, cloud-init). Pure.
 *
 * This is an adapter over the renderer's building blocks until infra/render offers a gateway host
 * of its own (reported to the lead): ContainerService has no gateway role yet.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { GatewayFleetPlan } from "../plan/gateway";
import type { FleetPlan, NodePlan } from "../plan/types";
import { gatewayPrivateName } from "../plan/nodes";
import { ENGINE_API_KEY_SECRET, GATEWAY_FILES_SECRET, RESERVED_SECRET_NAMES, SELF_SIGNED_TLS, nginxEnvSecrets } from "../plan/secrets";
import type { Artifacts, NodeSecret } from "../render";
import { renderBootstrap } from "../render/bootstrap";
import { renderUserData, type HostSetup } from "../render/cloudinit";
import { renderCompose } from "../render/compose";
import { OFFICIAL_NGINX_IMAGE, renderGateway, secretEnvName, type GatewayRenderOptions, type ResolveEndpoint } from "../render/gateway";
import { NODE_ROOT, engineServiceName, secretPath } from "../render/layout";
import { OLLAMA_SERVICE } from "../render/ollama";
import type { ContainerService } from "../render/service";
import { renderTemplate, shellQuote } from "../render/templates";
import { containerName } from "./dockerContainers";
import { HOST_USAGE_OPTIONS, USAGE_STATE_MOUNT, usageServiceContainer } from "../render/usage/container";

export const GATEWAY_PORT = 443;

/** The gateway runs on a small AWS instance unless gateway.host names a docker node. */
export function gatewayOnAws(plan: GatewayFleetPlan): boolean {
  return plan.gateway.host === "aws";
}
/** The official image's prefix: load_module and js_import resolve against it. */
export const NGINX_PREFIX = "/etc/nginx";
export const NGINX_IMAGE = OFFICIAL_NGINX_IMAGE.image;
const TLS_DIR = "/etc/llm-fleet/tls";
export const TLS_FILES = { certificateFile: `${TLS_DIR}/certificate.pem`, keyFile: `${TLS_DIR}/key.pem` } as const;
export { GATEWAY_FILES_SECRET, RESERVED_SECRET_NAMES, SELF_SIGNED_TLS };
/** Secrets Manager holds at most 65,536 bytes per secret value (AWS Secrets Manager quotas). */
export const SECRET_VALUE_MAX_BYTES = 65536;
/** Amazon's VPC resolver: it answers for the fleet's private zone (nginx needs one for health probes). */
export const AMAZON_DNS = "169.254.169.253";

export function gatewayTlsSecrets(plan: GatewayFleetPlan): { certificateSecret: string; keySecret: string } {
  return plan.gateway.tls ?? SELF_SIGNED_TLS;
}

/** Docker's DNS on user-defined networks: answers for container names. */
export const DOCKER_DNS = "127.0.0.11";

/**
 * For a gateway container on a docker node: that node's engines by container name on the host's
 * network (its address may be 127.0.0.1 from the daemon's side, which inside a container is the
 * container itself); every other endpoint as planned.
 */
export function sameHostEndpoints(plan: FleetPlan, nodeName: string): ResolveEndpoint {
  return (modelId, replicaIndex, planned) => {
    const model = plan.models.find((m) => m.id === modelId);
    if (!model || model.engine === "external") return planned;
    const replica = model.replicas[replicaIndex];
    if (!replica || replica.endpoint.node !== nodeName) return planned;
    const service = model.engine === "ollama" ? OLLAMA_SERVICE : engineServiceName(model.engine, model.id, replica.index);
    return { host: containerName(service), port: replica.endpoint.port };
  };
}

/**
 * The unix socket of the gateway's internal listener (nginx.conf.hbs "in place"), in the
 * container's own /tmp. nginx unlinks it only when it exits cleanly; after a crash, an OOM kill or
 * `docker stop`'s SIGKILL (stopGraceSeconds, a long stream still open) the file stays in the
 * container's writable layer, which a restart (Docker's restart policy, a reboot) keeps, and nginx
 * then refuses to start: "bind() to unix:... failed (98: Address already in use)". nginxCommand
 * removes it first: the container runs one nginx, so a socket there at its start is stale.
 */
export const ROUTER_SOCKET = "/tmp/llm-fleet-router.sock";

export function gatewayRenderOptions(clientKeys: Record<string, string>, resolver: string[], resolveEndpoint?: ResolveEndpoint): GatewayRenderOptions {
  return {
    clientKeys,
    resolveEndpoint,
    listen: { address: "0.0.0.0", port: GATEWAY_PORT, tls: TLS_FILES },
    nginx: "official-image",
    user: "nginx",
    resolver,
    engineKeySecret: ENGINE_API_KEY_SECRET,
    paths: { pidFile: "/tmp/nginx.pid", errorLog: "stderr", accessLog: "/dev/stdout", tempDir: "/tmp", routerSocket: ROUTER_SOCKET },
    // Used only when gateway.metering is on.
    usage: HOST_USAGE_OPTIONS,
  };
}

/** The gateway machine on AWS as a node of the plan's shape (no GPUs, no placements). */
export function gatewayNodePlan(plan: FleetPlan, instanceType: string, diskGiB: number): NodePlan {
  return {
    name: "gateway",
    provider: "aws",
    spec: { name: "gateway", provider: "aws", instanceType, spot: false, labels: {} },
    gpus: [],
    address: gatewayPrivateName(plan.name),
    instanceType,
    cpu: null,
    costPerHourUSD: 0,
    placements: [],
    diskGiB,
  };
}

/**
 * nginx's start, after removing a stale router socket (ROUTER_SOCKET). With metering it first
 * makes the usage directory writable for its workers (user nginx): the directory is created by
 * Docker for the bind mount (root, 0755) or as a fresh named volume, and only the usage service chmods it (1777, sticky) when it starts; both
 * containers start at once, so nginx could serve its first requests before that and lose their
 * usage lines to EACCES (issue 14 item 5). nginx's master runs as root, so it can do the same
 * itself: whichever container starts first, the directory is right before nginx serves.
 */
export function nginxCommand(plan: GatewayFleetPlan): { entrypoint: string[]; command: string[] } {
  const steps = [`rm -f ${ROUTER_SOCKET}`];
  if (plan.gateway.metering === true) {
    const dir = USAGE_STATE_MOUNT.target;
    steps.push(`mkdir -p ${dir}`, `chmod 1777 ${dir}`);
  }
  return { entrypoint: ["/bin/sh", "-c"], command: [[...steps, "exec nginx -g 'daemon off;'"].join(" && ")] };
}

export function nginxService(plan: GatewayFleetPlan, gatewayFiles: string[]): ContainerService {
  const tls = gatewayTlsSecrets(plan);
  return {
    name: "gateway",
    role: "gateway",
    engine: null,
    image: NGINX_IMAGE,
    ...nginxCommand(plan),
    environment: {},
    secretEnv: nginxEnvSecrets(plan, true).map((secret) => ({ variable: secretEnvName(secret), secret })),
    bootEnvFiles: [],
    gpus: [],
    network: { mode: "bridge", port: GATEWAY_PORT },
    mounts: [
      ...gatewayFiles.filter((f) => !f.startsWith("gateway/usage/")).map((f) => ({ source: `./${f}`, target: `${NGINX_PREFIX}/${f.replace(/^gateway\//, "")}`, readOnly: true })),
      ...(plan.gateway.metering === true ? [USAGE_STATE_MOUNT] : []),
      { source: `./${tlsFile(tls.certificateSecret)}`, target: TLS_FILES.certificateFile, readOnly: true },
      { source: `./${tlsFile(tls.keySecret)}`, target: TLS_FILES.keyFile, readOnly: true },
    ],
    healthcheck: null,
    ipcHost: false,
    stopGraceSeconds: 30,
  };
}

/** Where nginxService mounts a TLS secret from, relative to the node directory. */
export const tlsFile = (secret: string) => `secrets/${secret}`;

/**
 * The gateway's containers wherever it runs (compose.yaml on AWS, the Docker API on a docker
 * node): nginx, and with metering the usage service beside it sharing the usage directory.
 */
export function gatewayServices(plan: GatewayFleetPlan, gateway: Artifacts): ContainerService[] {
  return [nginxService(plan, Object.keys(gateway).sort()), ...(plan.gateway.metering === true ? [usageServiceContainer(gateway)] : [])];
}

/**
 * What the gateway's Ubuntu 24.04 image (ami.ts GATEWAY_AMI) lacks for the bootstrap: Docker and
 * the Compose plugin (Ubuntu's docker.io and docker-compose-v2 packages), and the AWS CLI v2 for
 * bin/fetch-secrets.sh and bin/report-ready.sh (Ubuntu 24.04 has no awscli package; AWS
 * publishes it as the aws-cli snap). The snap lands in /snap/bin, which systemd units' PATH
 * lacks, hence the link into /usr/local/bin. curl is in the image.
 */
export const GATEWAY_HOST_SETUP: HostSetup = {
  packages: ["docker.io", "docker-compose-v2"],
  commands: [
    ["snap", "install", "aws-cli", "--classic"],
    ["ln", "-sf", "/snap/bin/aws", "/usr/local/bin/aws"],
  ],
};

/** The gateway's files as one secret value: gzip + base64 of {path: contents}, and its digest. */
export function gatewayFilesBundle(files: Artifacts): { value: string; sha256: string } {
  const json = JSON.stringify(Object.fromEntries(Object.keys(files).sort().map((p) => [p, files[p]!.contents])));
  const value = gzipSync(Buffer.from(json, "utf8"), { level: 9 }).toString("base64");
  if (value.length > SECRET_VALUE_MAX_BYTES) {
    throw new Error(`AWS machine "gateway": its nginx files are ${value.length} bytes packed; a Secrets Manager value holds ${SECRET_VALUE_MAX_BYTES}; put fewer models in the fleet, or run the gateway on a docker node`);
  }
  return { value, sha256: createHash("sha256").update(value).digest("hex") };
}

/**
 * Every file of the AWS gateway machine. The nginx files (gateway/*) are too large for EC2 user
 * data: they travel as the secret GATEWAY_FILES_SECRET (`bundle`), which bin/fetch-gateway-files.sh
 * unpacks at first boot; its digest in the user data replaces the machine when they change. The
 * user data holds the rest; secrets only by Secrets Manager id.
 */
export function renderAwsGatewayHost(
  plan: GatewayFleetPlan,
  node: NodePlan,
  clientKeys: Record<string, string>,
  secretIdPrefix: string,
): { files: Artifacts; secrets: NodeSecret[]; bundle: { value: string; sha256: string } } {
  const gateway = renderGateway(plan, gatewayRenderOptions(clientKeys, [AMAZON_DNS]));
  const bundle = gatewayFilesBundle(gateway);
  const services = gatewayServices(plan, gateway);
  const tls = gatewayTlsSecrets(plan);
  const names = [...new Set([...nginxEnvSecrets(plan, true), tls.certificateSecret, tls.keySecret])].sort();
  const secrets = names.map((name) => ({ name, path: secretPath(name), awsSecretId: `${secretIdPrefix}/${name}` }));
  const onNode: Artifacts = {
    "compose.yaml": { contents: renderCompose(node, services) },
    ...renderBootstrap(node, services, secrets, null),
    "bin/fetch-gateway-files.sh": {
      mode: 0o755,
      contents: renderTemplate("bootstrap/fetch-gateway-files.sh.hbs", {
        count: Object.keys(gateway).length,
        secretId: shellQuote(`${secretIdPrefix}/${GATEWAY_FILES_SECRET}`),
        sha256: bundle.sha256,
      }),
    },
  };
  const setup: HostSetup = { ...GATEWAY_HOST_SETUP, commands: [...GATEWAY_HOST_SETUP.commands, ["bash", `${NODE_ROOT}/bin/fetch-gateway-files.sh`]] };
  return { files: { ...gateway, ...onNode, "user-data.yaml": { contents: renderUserData(node, onNode, setup) } }, secrets, bundle };
}
