/**
 * `fleet plan --stack NAME | --spec FILE [--json] [--out DIR [--secret-id-prefix P]]`
 * Prints the plan (a table, or JSON); with --out also renders every artifact of the fleet to
 * DIR/<node>/… and, when the spec has a gateway and its client keys are in the environment
 * (LLM_FLEET_KEY_<NAME>: the gateway config holds their SHA-256 digests), DIR/gateway/… as the
 * deployed gateway runs it, and DIR/monitoring/ (prometheus.yml, grafana-dashboard.json).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AMAZON_DNS, DOCKER_DNS, gatewayOnAws, gatewayRenderOptions, sameHostEndpoints } from "../../infra/cloud/gatewayHost";
import { planFleet, type FleetPlan } from "../../infra/plan";
import { hasGateway } from "../../infra/plan/gateway";
import { renderFleet, type Artifacts } from "../../infra/render";
import { renderGateway } from "../../infra/render/gateway";
import { renderMonitoring } from "../../infra/render/usage/files";
import { SPEC_OPTIONS, renderStack, specFromValues, type Command } from "../args";
import { formatPlan, planToJson } from "../plan-table";
import { writeArtifacts } from "../write-artifacts";
import { clientKeysFromEnv } from "./gateway";

/**
 * monitoring/prometheus.yml scrapes llama.cpp replicas with the engines' API key read from this
 * file, relative to prometheus.yml (Prometheus resolves credentials_file against the config's
 * directory); the key itself is never written.
 */
export const MONITORING_ENGINE_KEY_FILE = "engine-api-key";

/** The gateway's files as the stack deploys them, or why they are not rendered. */
function gatewayArtifacts(plan: FleetPlan): { artifacts: Artifacts } | { notRendered: string } {
  if (!hasGateway(plan)) return { notRendered: "the spec has no gateway section (keys, rateClasses, perIp); the nodes' files do not need one" };
  const { keys, missing } = clientKeysFromEnv(plan.gateway, process.env);
  if (missing.length > 0) return { notRendered: `its config holds the SHA-256 digests of the client keys; set ${missing.join(", ")}` };
  const options = gatewayOnAws(plan)
    ? gatewayRenderOptions(keys, [AMAZON_DNS])
    : gatewayRenderOptions(keys, [DOCKER_DNS], sameHostEndpoints(plan, plan.gateway.host));
  return { artifacts: renderGateway(plan, options) };
}

export const command: Command = {
  usage: `usage: fleet plan --stack NAME | --spec FILE.yaml [--json] [--out DIR [--secret-id-prefix PREFIX]]
  --json               the plan as JSON on stdout (messages go to stderr)
  --out DIR            also write plan.json, every node's files, monitoring/ (prometheus.yml, Grafana dashboard)
                       and the gateway's files when its keys are in LLM_FLEET_KEY_<NAME>
  --secret-id-prefix   Secrets Manager id prefix of AWS nodes (default <fleet>/<stack>; with --spec the stack "dev" is assumed)`,
  options: { ...SPEC_OPTIONS, json: { type: "boolean" }, out: { type: "string" }, "secret-id-prefix": { type: "string" } },
  async run({ values }) {
    const { spec, label } = specFromValues(values);
    const plan = planFleet(spec);
    const log = values.json ? console.error : console.log;
    if (values.json) console.log(JSON.stringify(planToJson(plan), null, 2));
    else console.log(formatPlan(plan, values.stack ? `stack ${label}` : label));
    if (typeof values.out === "string") {
      const target = renderStack(values);
      const nodes = renderFleet(plan, target);
      const gateway = gatewayArtifacts(plan);
      fs.rmSync(values.out, { recursive: true, force: true });
      const monitoring = renderMonitoring(plan, { engineKeyFile: MONITORING_ENGINE_KEY_FILE });
      const written = writeArtifacts(values.out, { ...nodes, ...("artifacts" in gateway ? gateway.artifacts : {}), ...monitoring });
      fs.writeFileSync(path.join(values.out, "plan.json"), `${JSON.stringify(planToJson(plan), null, 2)}\n`);
      log(`\nwrote plan.json and ${written.length} files for ${plan.nodes.length} nodes${"artifacts" in gateway ? " and the gateway" : ""} to ${values.out}/`);
      if (target.note) log(target.note);
      if ("notRendered" in gateway) log(`gateway/ not rendered: ${gateway.notRendered}`);
      log(`monitoring/: prometheus.yml and grafana-dashboard.json${plan.models.some((m) => m.engine === "llamacpp") ? ` (put the engines' API key in monitoring/${MONITORING_ENGINE_KEY_FILE} for the llama.cpp targets)` : ""}`);
    }
    return 0;
  },
};
