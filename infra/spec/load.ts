/** Reading a FleetSpec from a YAML file or from a stack's Pulumi.<stack>.yaml (the CLI's side). */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { parseFleetSpec } from "./parse";
import { FleetSpecError } from "./errors";
import type { FleetSpec } from "./schema";

import { FLEET_CONFIG_KEY } from "./config-keys";

export { FLEET_CONFIG_KEY };

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new FleetSpecError([{ path: "", message: `cannot read ${file}`, fix: "check the path" }], file);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new FleetSpecError([{ path: "", message: `is not valid YAML: ${(err as Error).message}`, fix: "fix the YAML syntax" }], file);
  }
}

/** A YAML file whose top level is the FleetSpec object. */
export function loadSpecFile(file: string): FleetSpec {
  return parseFleetSpec(readYaml(file), file);
}

/** Pulumi.<stack>.yaml in `projectDir`, key `llm-fleet:fleet`. */
export function loadStackSpec(stack: string, projectDir = process.cwd()): FleetSpec {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  const doc = readYaml(file) as { config?: Record<string, unknown> } | null;
  const raw = doc?.config?.[FLEET_CONFIG_KEY];
  if (raw === undefined) {
    throw new FleetSpecError([{ path: `config.${FLEET_CONFIG_KEY}`, message: "is missing", fix: `put the fleet under config: ${FLEET_CONFIG_KEY}: in ${file}` }], file);
  }
  return parseFleetSpec(raw, `${file} (${FLEET_CONFIG_KEY})`);
}

/** `--stack NAME` or `--spec FILE` from CLI arguments. */
export function loadSpecFromArgs(args: { stack?: string; spec?: string }, projectDir = process.cwd()): { spec: FleetSpec; label: string } {
  if (args.spec && args.stack) throw new FleetSpecError([{ path: "", message: "both --spec and --stack given", fix: "pass one of them" }], "fleet");
  if (args.spec) return { spec: loadSpecFile(args.spec), label: path.basename(args.spec).replace(/\.ya?ml$/, "") };
  if (args.stack) return { spec: loadStackSpec(args.stack, projectDir), label: args.stack };
  throw new FleetSpecError([{ path: "", message: "no fleet given", fix: "pass --stack NAME (reads Pulumi.NAME.yaml) or --spec FILE.yaml" }], "fleet");
}
