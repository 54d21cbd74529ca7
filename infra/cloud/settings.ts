/**
 * The stack's Pulumi config beside the fleet spec: secrets (client keys, named secrets, the SSH
 * key), the preview expiry, the readiness bound and a few AWS choices. Read once, checked all at
 * once (every problem with its config key and the command that fixes it), then handed to the
 * components as plain values and secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { FleetSpecError, type SpecIssue } from "../spec/errors";
import type { GatewayFleetPlan } from "../plan/gateway";
import type { FleetPlan } from "../plan/types";
import { ENGINE_API_KEY_SECRET, requiredSecretNames } from "../plan/secrets";
import { clientKeyIssues } from "../render/gateway/router-config";
import { gatewayOnAws } from "./gatewayHost";

export { gatewayOnAws };

import { CONFIG_NAMESPACE } from "../spec/config-keys";

export { CONFIG_NAMESPACE };

/**
 * First boot pulls the engine images (vLLM's is ~10 GB) and the weights (tens of GB), then loads
 * and warms up; the engines' own health start period is an hour (render ENGINE_START_PERIOD_SECONDS).
 */
export const DEFAULT_READINESS_TIMEOUT_SECONDS = 3600;
/** The gateway is nginx proxying streams: two vCPUs are plenty for hundreds of streams. */
export const DEFAULT_GATEWAY_INSTANCE_TYPE = "t3.small";

export interface Settings {
  stack: string;
  /** Client key values by key name (gateway.keys), secret. */
  clientKeys: pulumi.Output<Record<string, string>>;
  /** Values of the fleet's named secrets (hfTokenSecret, apiKeySecret, tls), secret. */
  secrets: pulumi.Output<Record<string, string>>;
  /** Private key for the ssh nodes; unset = the ssh-agent at SSH_AUTH_SOCK (@pulumi/command 1.x uses it). */
  sshPrivateKey: pulumi.Output<string> | undefined;
  /** ISO 8601 time after which a preview stack may be swept; tags every AWS resource. */
  expiresAt: string | undefined;
  readinessTimeoutSeconds: number;
  gatewayInstanceType: string;
  /** Pin the AWS nodes to this zone instead of the first one that offers every instance type. */
  availabilityZone: string | undefined;
}

/** Whether any AWS resource exists: AWS nodes, or a gateway on AWS. */
export function usesAws(plan: GatewayFleetPlan): boolean {
  return plan.nodes.some((n) => n.provider === "aws") || gatewayOnAws(plan);
}


/** What the stack config holds, as far as checking needs (names only, never values). */
export interface ConfigPresence {
  clientKeyNames: string[] | undefined;
  /** What the gateway renderer's rules say about the key values (length, duplicates). */
  clientKeyIssues: SpecIssue[];
  secretNames: string[] | undefined;
  /** Names under llm-fleet:secrets whose value is empty or not a string (JSON config allows both). */
  badSecretValues: { name: string; problem: "empty" | "not a string" }[];
  hasSshPrivateKey: boolean;
  /** SSH_AUTH_SOCK is set where `pulumi up` runs: the command provider signs with that agent. */
  hasSshAgent: boolean;
  expiresAt: string | undefined;
  readinessTimeoutSeconds: number | undefined;
  awsRegion: string | undefined;
}

const setSecret = (key: string, example: string) => `pulumi config set --secret ${CONFIG_NAMESPACE}:${key} '${example}'`;

export function configIssues(plan: GatewayFleetPlan, c: ConfigPresence): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const keyNames = Object.keys(plan.gateway.keys).sort();
  const keysExample = JSON.stringify(Object.fromEntries(keyNames.map((k) => [k, "…"])));
  const givenKeys = c.clientKeyNames ?? [];
  const missingKeys = keyNames.filter((k) => !givenKeys.includes(k));
  if (missingKeys.length > 0) {
    issues.push({
      path: `${CONFIG_NAMESPACE}:clientKeys`,
      message: `no value for client key${missingKeys.length > 1 ? "s" : ""} ${missingKeys.map((k) => `"${k}"`).join(", ")} (gateway.keys)`,
      fix: setSecret("clientKeys", keysExample),
    });
  }
  for (const k of givenKeys.filter((g) => !keyNames.includes(g))) {
    issues.push({ path: `${CONFIG_NAMESPACE}:clientKeys.${k}`, message: "is not a key of gateway.keys", fix: `remove it, or add "${k}" under gateway.keys` });
  }
  for (const key of c.clientKeyIssues) {
    issues.push({ path: `${CONFIG_NAMESPACE}:clientKeys`, message: `${key.path}: ${key.message}`, fix: `${setSecret("clientKeys", keysExample)} with a distinct value per key (openssl rand -hex 24)` });
  }

  // A spec naming a secret the program makes itself is refused by the parser (rule secretNamesNotReserved).
  const needed = requiredSecretNames(plan);
  const givenSecrets = c.secretNames ?? [];
  const missingSecrets = needed.filter((s) => !givenSecrets.includes(s));
  if (missingSecrets.length > 0) {
    issues.push({
      path: `${CONFIG_NAMESPACE}:secrets`,
      message: `no value for secret${missingSecrets.length > 1 ? "s" : ""} ${missingSecrets.map((s) => `"${s}"`).join(", ")} (named by the fleet spec)`,
      fix: setSecret("secrets", JSON.stringify(Object.fromEntries(needed.map((s) => [s, "…"])))),
    });
  }
  for (const { name, problem } of c.badSecretValues.filter((b) => needed.includes(b.name))) {
    issues.push({
      path: `${CONFIG_NAMESPACE}:secrets.${name}`,
      message: problem === "empty" ? "is empty" : "is not a string (a number, object or list was given)",
      fix: setSecret("secrets", JSON.stringify(Object.fromEntries(needed.map((n) => [n, "…"])))),
    });
  }
  for (const s of givenSecrets.filter((g) => !needed.includes(g))) {
    issues.push({
      path: `${CONFIG_NAMESPACE}:secrets.${s}`,
      message: s === ENGINE_API_KEY_SECRET ? "is generated by the program (the key the fleet's engines check)" : "is not named by the fleet spec",
      fix: s === ENGINE_API_KEY_SECRET ? "remove it" : `remove it, or name it in the spec (hfTokenSecret, a model's apiKeySecret, gateway.tls)`,
    });
  }

  if (plan.nodes.some((n) => n.provider === "ssh") && !c.hasSshPrivateKey && !c.hasSshAgent) {
    issues.push({
      path: `${CONFIG_NAMESPACE}:sshPrivateKey`,
      message: "the fleet has ssh nodes but no SSH private key, and no ssh-agent (SSH_AUTH_SOCK) where pulumi runs",
      fix: `pulumi config set --secret ${CONFIG_NAMESPACE}:sshPrivateKey < ~/.ssh/id_ed25519, or run pulumi with an ssh-agent that holds the key`,
    });
  }
  if (c.expiresAt !== undefined && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(c.expiresAt)) {
    issues.push({ path: `${CONFIG_NAMESPACE}:expiresAt`, message: `"${c.expiresAt}" is not an ISO 8601 time with a zone`, fix: "use e.g. 2026-01-31T18:00:00Z" });
  }
  if (c.readinessTimeoutSeconds !== undefined && !(Number.isInteger(c.readinessTimeoutSeconds) && c.readinessTimeoutSeconds > 0)) {
    issues.push({ path: `${CONFIG_NAMESPACE}:readinessTimeoutSeconds`, message: `${String(c.readinessTimeoutSeconds)} is not a positive whole number of seconds`, fix: `use e.g. ${DEFAULT_READINESS_TIMEOUT_SECONDS}` });
  }
  // One region for the spec and the provider: resources and the nodes' Secrets Manager reads must agree.
  if (usesAws(plan) && c.awsRegion !== undefined && c.awsRegion !== plan.region) {
    issues.push({ path: "aws:region", message: `is ${c.awsRegion} but the fleet's region is ${plan.region}`, fix: `pulumi config set aws:region ${plan.region} (or change the spec's region)` });
  }
  return issues;
}

/** The gateway renderer's own rules for key values (it hashes them); only for keys of the spec
 * (missing and unknown names are configIssues' own). */
function keyValueIssues(plan: GatewayFleetPlan, keys: Record<string, unknown>): SpecIssue[] {
  const known = Object.fromEntries(Object.entries(keys).filter(([name]) => plan.gateway.keys[name] !== undefined));
  if (Object.keys(known).length !== Object.keys(plan.gateway.keys).length) return [];
  return clientKeyIssues(plan, known);
}

const numberOrUndefined = (raw: string | undefined) => (raw === undefined ? undefined : Number(raw));

/** Reads and checks the stack config; throws one FleetSpecError listing every problem. */
export function loadSettings(plan: GatewayFleetPlan): Settings {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const stack = pulumi.getStack();
  // Names, and the key rules checked here so a bad key fails the preview before any resource;
  // the values are used below only as secret Outputs.
  const names = (key: string) => {
    const raw = config.getObject<Record<string, unknown>>(key);
    return raw && typeof raw === "object" ? Object.keys(raw) : undefined;
  };
  const clientKeyNames = names("clientKeys");
  const presence: ConfigPresence = {
    clientKeyNames,
    clientKeyIssues: clientKeyNames ? keyValueIssues(plan, config.getObject<Record<string, unknown>>("clientKeys") ?? {}) : [],
    secretNames: names("secrets"),
    badSecretValues: Object.entries(config.getObject<Record<string, unknown>>("secrets") ?? {}).flatMap(([name, value]): ConfigPresence["badSecretValues"] =>
      typeof value !== "string" ? [{ name, problem: "not a string" }] : value === "" ? [{ name, problem: "empty" }] : [],
    ),
    hasSshPrivateKey: config.get("sshPrivateKey") !== undefined,
    hasSshAgent: Boolean(process.env.SSH_AUTH_SOCK),
    expiresAt: config.get("expiresAt"),
    readinessTimeoutSeconds: numberOrUndefined(config.get("readinessTimeoutSeconds")),
    awsRegion: new pulumi.Config("aws").get("region"),
  };
  const issues = configIssues(plan, presence);
  if (issues.length > 0) throw new FleetSpecError(issues, `Pulumi config of stack ${stack}`);
  return {
    stack,
    clientKeys: pulumi.secret(config.getSecretObject<Record<string, string>>("clientKeys") ?? {}),
    secrets: pulumi.secret(config.getSecretObject<Record<string, string>>("secrets") ?? {}),
    sshPrivateKey: presence.hasSshPrivateKey ? config.requireSecret("sshPrivateKey") : undefined,
    expiresAt: presence.expiresAt,
    readinessTimeoutSeconds: presence.readinessTimeoutSeconds ?? DEFAULT_READINESS_TIMEOUT_SECONDS,
    gatewayInstanceType: config.get("gatewayInstanceType") ?? DEFAULT_GATEWAY_INSTANCE_TYPE,
    availabilityZone: config.get("availabilityZone"),
  };
}

/** Tags on every AWS resource of the stack (the preview sweeper reads expires-at). */
export function fleetTags(plan: FleetPlan, settings: Pick<Settings, "stack" | "expiresAt">): Record<string, string> {
  return {
    fleet: plan.name,
    stack: settings.stack,
    "managed-by": "llm-fleet",
    ...(settings.expiresAt ? { "expires-at": settings.expiresAt } : {}),
  };
}
