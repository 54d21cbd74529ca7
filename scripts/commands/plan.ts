/**
 * `fleet plan --stack NAME | --spec FILE [--json] [--out DIR [--secret-id-prefix P]]`
 * Prints the plan (a table, or JSON); with --out also renders every artifact of the fleet to
 * DIR/<node>/… and DIR/gateway/…, next to DIR/plan.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { planFleet } from "../../infra/plan";
import { renderFleet } from "../../infra/render";
import { parseCommandArgs, specFromValues } from "../args";
import { formatPlan, planToJson } from "../plan-table";
import { writeArtifacts } from "../write-artifacts";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: "boolean" }, out: { type: "string" }, "secret-id-prefix": { type: "string" } });
  const { spec, label } = specFromValues(values);
  const plan = planFleet(spec);
  const log = values.json ? console.error : console.log;
  if (values.json) console.log(JSON.stringify(planToJson(plan), null, 2));
  else console.log(formatPlan(plan, values.stack ? `stack ${label}` : label));
  if (values.out) {
    const artifacts = renderFleet(plan, { stack: values.stack, secretIdPrefix: values["secret-id-prefix"] });
    fs.rmSync(values.out, { recursive: true, force: true });
    const written = writeArtifacts(values.out, artifacts);
    fs.writeFileSync(path.join(values.out, "plan.json"), `${JSON.stringify(planToJson(plan), null, 2)}\n`);
    log(`\nwrote plan.json and ${written.length} files for ${plan.nodes.length} nodes to ${values.out}/`);
  }
  return 0;
}
