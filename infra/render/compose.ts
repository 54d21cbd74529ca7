/**
 * compose.yaml of a node: every container of the node as a Compose service. Built as data and
 * serialised by the yaml library (quoting is its job, not a template's); the template adds the
 * header. Validated against reference/compose-spec.json in test/render.
 *
 * Why Compose per node rather than one systemd unit per `docker run`:
 * - one format for all three providers: a `docker` node is a Docker daemon we reach over its
 *   socket or ssh:// (Docker Desktop on a gaming PC, a NAS) with no systemd to install units
 *   into; Compose runs the same file there as on an AWS or SSH host;
 * - what a unit would spell as shell — GPU pinning (device_ids), health checks, restart
 *   policy, env files, host networking for Ray — is declarative here and checked by a schema;
 * - `docker compose up --wait` gives the bootstrap one readiness point for all engines of a node.
 * systemd still has one job where it exists (aws, ssh): a oneshot unit that runs bin/start.sh at
 * boot, after docker.service and the network, so secrets and network facts are refreshed before
 * the containers start (bootstrap.ts). Between boots Docker's restart policy keeps them up.
 */
import { stringify } from "yaml";
import type { NodePlan } from "../plan/types";
import { COMPOSE_PROJECT } from "./layout";
import { CONTAINER_LOGGING, CONTAINER_RESTART, HEALTHCHECK_TIMING, secretEnvFile, type ContainerService } from "./service";
import { renderTemplate } from "./templates";

/** Compose interpolates `$` in every value; `$$` is a literal dollar. */
function escapeInterpolation<T>(value: T): T {
  if (typeof value === "string") return value.replace(/\$/g, "$$$$") as T;
  if (Array.isArray(value)) return value.map(escapeInterpolation) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeInterpolation(v)])) as T;
  }
  return value;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

export function composeService(s: ContainerService): Record<string, unknown> {
  const envFiles = [...(s.secretEnv.length > 0 ? [secretEnvFile(s.name)] : []), ...s.bootEnvFiles].map((f) => `./${f}`);
  const service: Record<string, unknown> = {
    image: s.image,
    entrypoint: s.entrypoint,
    ...(s.command.length > 0 ? { command: s.command } : {}),
    environment: sortedRecord(s.environment),
    ...(envFiles.length > 0 ? { env_file: envFiles } : {}),
    restart: CONTAINER_RESTART,
    ...(s.network.mode === "host" ? { network_mode: "host" } : { ports: [`${s.network.port}:${s.network.port}`] }),
    ...(s.ipcHost ? { ipc: "host" } : {}),
    volumes: s.mounts.map((m) => `${m.source}:${m.target}${m.readOnly ? ":ro" : ""}`),
  };
  if (s.gpus.length > 0) {
    service.deploy = {
      resources: { reservations: { devices: [{ driver: "nvidia", device_ids: s.gpus.map(String), capabilities: ["gpu"] }] } },
    };
  }
  if (s.healthcheck) {
    service.healthcheck = {
      test: s.healthcheck.test,
      interval: `${HEALTHCHECK_TIMING.intervalSeconds}s`,
      timeout: `${HEALTHCHECK_TIMING.timeoutSeconds}s`,
      retries: HEALTHCHECK_TIMING.retries,
      start_period: `${s.healthcheck.startPeriodSeconds}s`,
    };
  }
  service.stop_grace_period = `${s.stopGraceSeconds}s`;
  service.logging = { driver: CONTAINER_LOGGING.driver, options: { ...CONTAINER_LOGGING.options } };
  return service;
}

export function composeDocument(services: ContainerService[]): Record<string, unknown> {
  const names = services.map((s) => s.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new Error(`render: two containers on one node are both called "${duplicate}"`);
  return escapeInterpolation({
    name: COMPOSE_PROJECT,
    services: Object.fromEntries(services.map((s) => [s.name, composeService(s)])),
  });
}

export function renderCompose(node: NodePlan, services: ContainerService[]): string {
  // YAML 1.1 quoting: strings such as "off" or "0755" stay strings for every reader (cloud-init uses PyYAML, a 1.1 parser).
  const body = stringify(composeDocument(services), { lineWidth: 0, version: "1.1" });
  return renderTemplate("bootstrap/compose.yaml.hbs", { node: node.name, provider: node.provider, body });
}
