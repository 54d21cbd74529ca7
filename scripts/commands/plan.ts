/** `fleet plan --stack NAME | --spec FILE [--json] [--out DIR]` */
import * as fs from "node:fs";
import * as path from "node:path";
import { planFleet } from "../../infra/plan";
import { parseCommandArgs, specFromValues } from "../args";
import { formatPlan, planToJson } from "../plan-table";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: "boolean" }, out: { type: "string" } });
  const { spec, label } = specFromValues(values);
  const plan = planFleet(spec);
  if (values.json) console.log(JSON.stringify(planToJson(plan), null, 2));
  else console.log(formatPlan(plan, values.stack ? `stack ${label}` : label));
  if (values.out) {
    fs.mkdirSync(values.out, { recursive: true });
    fs.writeFileSync(path.join(values.out, "plan.json"), `${JSON.stringify(planToJson(plan), null, 2)}\n`);
    if (!values.json) console.log(`\nwrote ${values.out}/plan.json`);
  }
  return 0;
}
