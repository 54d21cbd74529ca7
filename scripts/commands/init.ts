/**
 * `fleet init STARTER [--out FILE] [--name NAME] [--force]`: writes a starter spec for a common
 * situation (scripts/starters/<starter>.yaml) that plans as written, with the editor pointed at
 * the JSON Schema. `fleet init --list` names them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { name as fleetName } from "../../infra/spec/fields";
import { FLEET_SPEC_SCHEMA_FILE } from "../../infra/spec/json-schema";
import { UsageError, stringValue, type Command } from "../args";

const REPO_ROOT = path.resolve(__dirname, "../..");
const STARTERS_DIR = path.join(__dirname, "../starters");

export const STARTERS = {
  "ssh-gpu": "one GPU box you own, over SSH (vLLM)",
  aws: "one model on one AWS GPU instance",
  "cpu-fallback": "a CPU box you own (llama.cpp) with a cloud model as failover",
} as const;
export type Starter = keyof typeof STARTERS;

const isStarter = (s: string): s is Starter => Object.hasOwn(STARTERS, s);
const list = () => Object.entries(STARTERS).map(([k, what]) => `  ${k.padEnd(13)} ${what}`).join("\n");

/** The starter's text for a spec written to `file`: its schema line points at this repository's schema. */
export function starterSpec(starter: Starter, name: string, file: string): string {
  const schema = path.relative(path.dirname(path.resolve(file)), path.join(REPO_ROOT, FLEET_SPEC_SCHEMA_FILE));
  const body = fs.readFileSync(path.join(STARTERS_DIR, `${starter}.yaml`), "utf8").replaceAll("{{name}}", name);
  return `# yaml-language-server: $schema=${schema}\n${body}`;
}

export const command: Command = {
  usage: `usage: fleet init STARTER [--out FILE] [--name NAME] [--force]
  --out FILE   where to write the spec (default fleet.yaml); --force overwrites it
  --name NAME  the fleet's name (default: my-fleet)
  fleet init --list   the starters:
${list()}`,
  options: { out: { type: "string" }, name: { type: "string" }, force: { type: "boolean" }, list: { type: "boolean" } },
  positionals: true,
  async run({ values, positionals }) {
    if (values.list) {
      console.log(list());
      return 0;
    }
    const [starter, ...extra] = positionals;
    if (starter === undefined) throw new UsageError("name a starter");
    if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(" ")}`);
    if (!isStarter(starter)) throw new UsageError(`no starter "${starter}" (use one of: ${Object.keys(STARTERS).join(", ")})`);
    const name = stringValue(values.name) ?? "my-fleet";
    const checked = fleetName.safeParse(name);
    if (!checked.success) throw new UsageError(`--name "${name}" is not a fleet name: ${checked.error.issues[0]!.message}`);
    const file = stringValue(values.out) ?? "fleet.yaml";
    if (fs.existsSync(file) && !values.force) throw new UsageError(`${file} exists; pass --force to overwrite it, or --out another file`);
    fs.writeFileSync(file, starterSpec(starter, name, file));
    console.log(`wrote ${file} (${STARTERS[starter]})\nnext: npx fleet plan --spec ${file}`);
    return 0;
  },
};
