/**
 * `fleet render --stack NAME | --spec FILE --out DIR [--secret-id-prefix PREFIX]`
 * Writes every node's files to DIR/<node>/… (what `npm run plan` also writes). AWS nodes read
 * their secrets from Secrets Manager as <fleet>/<stack>/<secret>: with --spec, say the prefix.
 */
import { planFleet } from "../../infra/plan";
import { renderFleet } from "../../infra/render";
import { parseCommandArgs, specFromValues } from "../args";
import { writeArtifacts } from "../write-artifacts";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { out: { type: "string" }, "secret-id-prefix": { type: "string" } });
  if (!values.out) {
    console.error("fleet render: --out DIR is required (e.g. --out out/dev)");
    return 2;
  }
  const { spec, label } = specFromValues(values);
  const plan = planFleet(spec);
  let artifacts;
  try {
    artifacts = renderFleet(plan, {
      stack: typeof values.stack === "string" ? values.stack : undefined,
      secretIdPrefix: values["secret-id-prefix"],
    });
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("render:")) {
      console.error(`fleet render ${label}: ${err.message.replace(/^render: /, "")}${values.spec ? " (with --spec: --secret-id-prefix <fleet>/<stack>)" : ""}`);
      return 1;
    }
    throw err;
  }
  const written = writeArtifacts(values.out, artifacts);
  console.log(`wrote ${written.length} files for ${plan.nodes.length} nodes to ${values.out}`);
  return 0;
}
