/**
 * `fleet render --stack NAME | --spec FILE --out DIR [--secret-id-prefix PREFIX]`
 * Writes every node's files to DIR/<node>/… (what `npm run plan` also writes). AWS nodes read
 * their secrets from Secrets Manager as <fleet>/<stack>/<secret>: with --spec the stack "dev" is
 * assumed, and the output says so.
 */
import { planFleet } from "../../infra/plan";
import { renderFleet } from "../../infra/render";
import { SPEC_OPTIONS, UsageError, renderStack, specFromValues, type Command } from "../args";
import { writeArtifacts } from "../write-artifacts";

export const command: Command = {
  usage: `usage: fleet render --stack NAME | --spec FILE.yaml --out DIR [--secret-id-prefix PREFIX]
  --out DIR            where every node's files go (DIR/<node>/…)
  --secret-id-prefix   Secrets Manager id prefix of AWS nodes (default <fleet>/<stack>; with --spec the stack "dev" is assumed)`,
  options: { ...SPEC_OPTIONS, out: { type: "string" }, "secret-id-prefix": { type: "string" } },
  async run({ values }) {
    if (typeof values.out !== "string") throw new UsageError("--out DIR is required (e.g. --out out/dev)");
    const { spec } = specFromValues(values);
    const plan = planFleet(spec);
    const target = renderStack(values);
    const written = writeArtifacts(values.out, renderFleet(plan, target));
    console.log(`wrote ${written.length} files for ${plan.nodes.length} nodes to ${values.out}`);
    if (target.note) console.log(target.note);
    if (!plan.gateway) console.log("the spec has no gateway section: fleet gateway and pulumi up need one (keys, rateClasses, perIp)");
    return 0;
  },
};
