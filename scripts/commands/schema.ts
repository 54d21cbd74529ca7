/**
 * `fleet schema [--out DIR]`: the JSON Schemas of a spec file and of a Pulumi.<stack>.yaml, from
 * the zod schema. Without --out, the FleetSpec schema on stdout; with --out DIR, both files under
 * DIR as the repository keeps them (schema/…); `npm run schema` refreshes the repository's copy.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FLEET_SPEC_SCHEMA_FILE, PULUMI_STACK_SCHEMA_FILE, fleetSpecJsonSchema, pulumiStackJsonSchema } from "../../infra/spec/json-schema";
import type { Command } from "../args";

/** The files as the repository stores them: 2-space JSON and a final newline. */
export function schemaFiles(): Record<string, string> {
  const text = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;
  return { [FLEET_SPEC_SCHEMA_FILE]: text(fleetSpecJsonSchema()), [PULUMI_STACK_SCHEMA_FILE]: text(pulumiStackJsonSchema()) };
}

export const command: Command = {
  usage: `usage: fleet schema [--out DIR]
  prints the FleetSpec JSON Schema; with --out DIR writes DIR/${FLEET_SPEC_SCHEMA_FILE} and DIR/${PULUMI_STACK_SCHEMA_FILE}`,
  options: { out: { type: "string" } },
  async run({ values }) {
    const files = schemaFiles();
    if (typeof values.out !== "string") {
      process.stdout.write(files[FLEET_SPEC_SCHEMA_FILE]!);
      return 0;
    }
    for (const [rel, contents] of Object.entries(files)) {
      const target = path.join(values.out, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, contents);
      console.log(`wrote ${target}`);
    }
    return 0;
  },
};
