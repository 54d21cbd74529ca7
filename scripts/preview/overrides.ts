/**
 * A preview's fleet and config, derived from its base stack's config. Pure.
 *
 * The base stack may hold an optional `llm-fleet:preview` block next to `llm-fleet:fleet`
 * (outside the FleetSpec, so the spec schema stays the fleet's): how previews of it are cut down.
 */
import { z } from "zod";
import { FleetSpecError, specPath, type SpecIssue } from "../../infra/spec/errors";
import { FLEET_CONFIG_KEY, configKey } from "../../infra/spec/config-keys";
import { parseFleetSpec } from "../../infra/spec/parse";
import type { FleetSpec, ModelSpec, NodeSpec } from "../../infra/spec/schema";
import { DEFAULT_READINESS_TIMEOUT_SECONDS } from "../../infra/cloud/settings";
import { requiredSecretNames } from "../../infra/plan/secrets";
import { PREVIEW_READINESS_TIMEOUT_SECONDS } from "./limits";
import type { FleetPlan } from "../../infra/plan/types";
import type { ConfigEntry, ConfigJson } from "./backend";
import type { EnvSecrets } from "./secrets";

export const PREVIEW_CONFIG_KEY = configKey("preview");
/** How long the program's Readiness waits for the models (infra/cloud/settings.ts). */
export const READINESS_TIMEOUT_CONFIG_KEY = configKey("readinessTimeoutSeconds");
/** ISO instant after which `fleet preview sweep` destroys the stack; the program tags instances with it. */
export const EXPIRES_AT_CONFIG_KEY = configKey("expiresAt");

export const PreviewSettings = z.strictObject({
  /**
   * Replicas each served model keeps in a preview: the first N of the base's. Nodes left without
   * a replica are dropped.
   * @default all of them
   * @example 1
   */
  maxReplicasPerModel: z.number().int().positive().optional(),
  /**
   * gateway.domain of previews, "{stack}" standing for the preview's stack name. The base's
   * gateway.tls is kept, so its certificate must cover this name (e.g. a wildcard).
   * @default none: the base's domain and certificate are dropped (the base serves that name)
   * @example "{stack}.preview.example.com"
   */
  domain: z.string().regex(/^[a-z0-9{}.-]+$/, "use a host name such as {stack}.preview.example.com").optional(),
});
export type PreviewSettings = z.infer<typeof PreviewSettings>;

function structured(entry: ConfigEntry | undefined): unknown {
  if (!entry) return undefined;
  if (entry.objectValue !== undefined) return entry.objectValue;
  try {
    return entry.value === undefined ? undefined : JSON.parse(entry.value);
  } catch {
    return entry.value;
  }
}

/** The base stack's fleet and preview settings, every problem reported with its config path. */
export function readBaseConfig(config: ConfigJson, base: string): { spec: FleetSpec; settings: PreviewSettings } {
  const origin = `stack ${base}`;
  const raw = structured(config[FLEET_CONFIG_KEY]);
  if (raw === undefined) {
    throw new FleetSpecError([{ path: `config.${FLEET_CONFIG_KEY}`, message: "is missing", fix: `put the fleet under config: ${FLEET_CONFIG_KEY}: in Pulumi.${base}.yaml` }], origin);
  }
  const spec = parseFleetSpec(raw, `${origin} (${FLEET_CONFIG_KEY})`);
  const parsed = PreviewSettings.safeParse(structured(config[PREVIEW_CONFIG_KEY]) ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i): SpecIssue => ({
      path: [`config.${PREVIEW_CONFIG_KEY}`, specPath(i.path)].filter(Boolean).join("."),
      message: i.message,
      fix: "allowed: { maxReplicasPerModel: N, domain: \"{stack}.preview.example.com\" } (scripts/preview/overrides.ts)",
    }));
    throw new FleetSpecError(issues, origin);
  }
  return { spec, settings: parsed.data };
}

function servedNodes(models: readonly ModelSpec[]): Set<string> {
  return new Set(models.flatMap((m) => (m.engine === "external" ? [] : m.replicas.flatMap((r) => r.nodes))));
}

/**
 * The preview's fleet: named after its stack (so no resource name or tag collides with the
 * base's), every AWS node on spot, replicas cut to `maxReplicasPerModel`, nodes left idle by that
 * cut dropped, and the base's domain not claimed twice. `changes` says what was done, for the log.
 * A preview may not use SSH or Docker hosts: it would start a second copy of the engines on the
 * base's machines, on the same ports and GPUs.
 */
export function previewFleet(base: FleetSpec, settings: PreviewSettings, stack: string, baseStack: string): { spec: FleetSpec; changes: string[] } {
  const origin = `preview of stack ${baseStack}`;
  const changes: string[] = [`name: ${stack} (base: ${base.name})`];
  const max = settings.maxReplicasPerModel;
  const models = base.models.map((m): ModelSpec => {
    if (m.engine === "external" || max === undefined || m.replicas.length <= max) return m;
    changes.push(`${m.id}: ${max} of ${m.replicas.length} replicas (${PREVIEW_CONFIG_KEY}.maxReplicasPerModel)`);
    return { ...m, replicas: m.replicas.slice(0, max) };
  });
  const before = servedNodes(base.models);
  const after = servedNodes(models);
  const issues: SpecIssue[] = [];
  const nodes = base.nodes.flatMap((n, i): NodeSpec[] => {
    if (before.has(n.name) && !after.has(n.name) && n.name !== base.gateway?.host) {
      changes.push(`node ${n.name}: dropped, no replica left on it`);
      return [];
    }
    if (n.provider !== "aws") {
      issues.push({
        path: `nodes[${i}]`,
        message: `${n.provider} host "${n.name}" is a machine stack ${baseStack} already runs engines on; a preview would start a second copy on the same ports and GPUs`,
        fix: `base previews on a stack whose models run on aws nodes, or cut them off with ${PREVIEW_CONFIG_KEY}.maxReplicasPerModel`,
      });
      return [n];
    }
    if (n.spot) return [n];
    changes.push(`node ${n.name}: spot`);
    return [{ ...n, spot: true }];
  });
  if (issues.length > 0) throw new FleetSpecError(issues, origin);

  const gateway = base.gateway && { ...base.gateway };
  if (gateway && settings.domain) {
    gateway.domain = settings.domain.replaceAll("{stack}", stack);
    changes.push(`gateway.domain: ${gateway.domain}`);
  } else if (gateway?.domain) {
    changes.push(`gateway.domain ${gateway.domain}: dropped, the base serves it (set ${PREVIEW_CONFIG_KEY}.domain to give previews one)`);
    delete gateway.domain;
    delete gateway.tls;
  }
  return { spec: parseFleetSpec({ ...base, name: stack, nodes, models, gateway }, origin), changes };
}

/** Config keys of the secret objects the program reads (infra/cloud/settings.ts). */
export const CLIENT_KEYS_CONFIG_KEY = configKey("clientKeys");
export const SECRETS_CONFIG_KEY = configKey("secrets");

/**
 * The preview stack's whole config: the base's (secrets stay secrets), the preview fleet in place
 * of the base's, the expiry, and client keys and secrets from the environment over the base's.
 * Secrets the preview fleet no longer names (a dropped domain's certificate) are left out: the
 * program refuses secrets its spec does not name. The base's preview block is not copied.
 */
export function previewConfig(
  base: ConfigJson,
  plan: FleetPlan,
  expiresAt: string,
  overrides: Pick<EnvSecrets, "clientKeys" | "secrets"> = { clientKeys: {}, secrets: {} },
): ConfigJson {
  const config: ConfigJson = { ...base };
  delete config[PREVIEW_CONFIG_KEY];
  config[FLEET_CONFIG_KEY] = { value: JSON.stringify(plan.spec), objectValue: plan.spec, secret: base[FLEET_CONFIG_KEY]?.secret ?? false };
  config[EXPIRES_AT_CONFIG_KEY] = { value: expiresAt, secret: false };
  // The readiness wait must end inside the preview's own deadline (limits.ts), or the CI job is
  // killed mid-update with the stack locked. A shorter wait of the base's is kept.
  const baseWait = Number(base[READINESS_TIMEOUT_CONFIG_KEY]?.value ?? DEFAULT_READINESS_TIMEOUT_SECONDS);
  const wait = Number.isFinite(baseWait) ? Math.min(baseWait, PREVIEW_READINESS_TIMEOUT_SECONDS) : PREVIEW_READINESS_TIMEOUT_SECONDS;
  config[READINESS_TIMEOUT_CONFIG_KEY] = { value: String(wait), secret: false };
  const needed = new Set(requiredSecretNames(plan));
  const secretObjects = [
    { key: CLIENT_KEYS_CONFIG_KEY, values: overrides.clientKeys, keep: () => true },
    { key: SECRETS_CONFIG_KEY, values: overrides.secrets, keep: (name: string) => needed.has(name) },
  ];
  for (const { key, values, keep } of secretObjects) {
    const fromBase = (structured(base[key]) ?? {}) as Record<string, string>;
    const merged = Object.fromEntries(Object.entries({ ...fromBase, ...values }).filter(([name]) => keep(name)));
    if (Object.keys(values).length === 0 && Object.keys(merged).length === Object.keys(fromBase).length) continue;
    if (Object.keys(merged).length === 0) delete config[key];
    else config[key] = { value: JSON.stringify(merged), objectValue: merged, secret: true };
  }
  return config;
}
