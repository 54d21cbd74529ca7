/**
 * Readiness: `pulumi up` ends only when the gateway answers for every served model. A local
 * command runs readiness-probe.mjs, which polls the gateway's /health (with a client key that
 * may use the model) until each model has an answering replica, within
 * `llm-fleet:readinessTimeoutSeconds`; a model that never comes up fails the update with its
 * name and last error. It depends on everything else, and runs again whenever a trigger changes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { GatewayFleetPlan } from "../plan/gateway";
import { dependsOnOf } from "./dependsOn";

/** The probe's source, run with `node -e`: no path on this machine ends up in the state. */
export const PROBE_SOURCE = fs.readFileSync(path.join(__dirname, "readiness-probe.mjs"), "utf8");

export interface ReadinessProbe {
  /** Gateway key name whose value the probe sends. */
  keyName: string;
  models: string[];
}

/**
 * Which key asks for which served model: the first key (by name) allowed to use it, so each
 * model is asked for once. External providers are not probed (the gateway does not either).
 */
export function readinessProbes(plan: GatewayFleetPlan): { probes: ReadinessProbe[]; unreachable: string[] } {
  const keyNames = Object.keys(plan.gateway.keys).sort();
  const byKey = new Map<string, string[]>();
  const unreachable: string[] = [];
  for (const m of plan.models) {
    if (m.engine === "external") continue;
    const key = keyNames.find((k) => {
      const allowed = plan.gateway.keys[k]!.models;
      return allowed.includes("*") || allowed.includes(m.id);
    });
    if (key === undefined) unreachable.push(m.id);
    else byKey.set(key, [...(byKey.get(key) ?? []), m.id]);
  }
  return { probes: [...byKey].map(([keyName, models]) => ({ keyName, models })), unreachable };
}

export interface ReadinessArgs {
  plan: GatewayFleetPlan;
  /** The gateway's base URL. */
  url: pulumi.Input<string>;
  /** Connect here instead of resolving the URL's host (its IP: DNS for a domain may not exist yet). */
  connectAddress?: pulumi.Input<string>;
  /** Printed with a failure: what else may keep the probe out (the allowed CIDRs). */
  hint?: string;
  /** Client key values by name (secret). */
  clientKeys: pulumi.Output<Record<string, string>>;
  /** The certificate to trust (self-signed gateways); unset = the system's CAs. */
  certificatePem?: pulumi.Input<string>;
  timeoutSeconds: number;
  /** Values whose change means the fleet must be waited for again (rendered contents, instance ids). */
  triggers: pulumi.Input<unknown>[];
}

export class Readiness extends pulumi.ComponentResource {
  /** The probe's final report. */
  readonly report: pulumi.Output<string>;

  constructor(name: string, args: ReadinessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:Readiness", name, {}, opts);
    const { probes, unreachable } = readinessProbes(args.plan);
    if (unreachable.length > 0) {
      pulumi.log.warn(`no gateway key may use ${unreachable.join(", ")}: no client can call ${unreachable.length > 1 ? "them" : "it"}, and readiness cannot check ${unreachable.length > 1 ? "them" : "it"}`, this);
    }
    const environment = pulumi.secret(
      pulumi.all([args.url, args.clientKeys, args.certificatePem ?? "", args.connectAddress ?? ""]).apply(([url, keys, ca, address]) => ({
        LLM_FLEET_GATEWAY_URL: url,
        LLM_FLEET_CONNECT_ADDRESS: address,
        LLM_FLEET_HINT: args.hint ?? "",
        LLM_FLEET_PROBES: JSON.stringify(probes.map((p) => ({ key: keys[p.keyName], models: p.models }))),
        LLM_FLEET_CA_PEM: ca,
        LLM_FLEET_TIMEOUT_SECONDS: String(args.timeoutSeconds),
      })),
    );
    const wait = new command.local.Command(
      name,
      {
        interpreter: ["node", "--input-type=module", "-e"],
        create: `${PROBE_SOURCE}\nprocess.exitCode = await main();\n`,
        environment,
        triggers: args.triggers,
      },
      // Everything the component was told to wait for: the nodes, the gateway, the secrets.
      { parent: this, dependsOn: dependsOnOf(opts) },
    );
    this.report = wait.stdout;
    this.registerOutputs({ report: this.report });
  }
}
