/**
 * `fleet plan --stack NAME | --spec FILE [--json] [--out DIR [--secret-id-prefix P]]`
 * Prints the plan (a table, or JSON); with --out also renders every artifact of the fleet to
 * DIR/<node>/… and, when the client keys are in the environment (LLM_FLEET_KEY_<NAME>: the
 * gateway config holds their SHA-256 digests), DIR/gateway/… as the deployed gateway runs it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AMAZON_DNS, DOCKER_DNS, gatewayOnAws, gatewayRenderOptions, sameHostEndpoints } from "../../infra/cloud/gatewayHost";
import { planFleet, type FleetPlan } from "../../infra/plan";
import { renderFleet, type Artifacts } from "../../infra/render";
import { renderGateway } from "../../infra/render/gateway";
import { parseCommandArgs, specFromValues } from "../args";
import { formatPlan, planToJson } from "../plan-table";
import { writeArtifacts } from "../write-artifacts";
import { clientKeysFromEnv } from "./gateway";

/** The gateway's files as the stack deploys them, or why they are not rendered. */
function gatewayArtifacts(plan: FleetPlan): { artifacts: Artifacts } | { missing: string[] } {
  const { keys, missing } = clientKeysFromEnv(plan.spec, process.env);
  if (missing.length > 0) return { missing };
  const options = gatewayOnAws(plan)
    ? gatewayRenderOptions(keys, [AMAZON_DNS])
    : gatewayRenderOptions(keys, [DOCKER_DNS], sameHostEndpoints(plan, plan.gateway.host!));
  return { artifacts: renderGateway(plan, options) };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: "boolean" }, out: { type: "string" }, "secret-id-prefix": { type: "string" } });
  const { spec, label } = specFromValues(values);
  const plan = planFleet(spec);
  const log = values.json ? console.error : console.log;
  if (values.json) console.log(JSON.stringify(planToJson(plan), null, 2));
  else console.log(formatPlan(plan, values.stack ? `stack ${label}` : label));
  if (values.out) {
    const nodes = renderFleet(plan, { stack: values.stack, secretIdPrefix: values["secret-id-prefix"] });
    const gateway = gatewayArtifacts(plan);
    fs.rmSync(values.out, { recursive: true, force: true });
    const written = writeArtifacts(values.out, { ...nodes, ...("artifacts" in gateway ? gateway.artifacts : {}) });
    fs.writeFileSync(path.join(values.out, "plan.json"), `${JSON.stringify(planToJson(plan), null, 2)}\n`);
    log(`\nwrote plan.json and ${written.length} files for ${plan.nodes.length} nodes${"artifacts" in gateway ? " and the gateway" : ""} to ${values.out}/`);
    if ("missing" in gateway) {
      log(`gateway/ not rendered: its config holds the SHA-256 digests of the client keys; set ${gateway.missing.join(", ")}`);
    }
  }
  return 0;
}
