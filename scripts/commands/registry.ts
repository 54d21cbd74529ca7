/**
 * `fleet registry --stack NAME [--out DIR]`: the registry from a deployed stack's outputs
 * (`pulumi stack output --json`).
 * `fleet registry --stack NAME --from-plan | --spec FILE [--gateway-url URL] [--out DIR]`: the
 * registry the plan implies, no cloud needed (the gateway URL from gateway.domain).
 * Writes registry.ts, registry.json and registry.schema.json to DIR (default out/<label>/registry).
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { planFleet } from "../../infra/plan";
import {
  RegistryInputError,
  generateRegistry,
  outputsFromPlan,
  parseFleetOutputs,
  writeRegistryFiles,
  type FleetOutputs,
} from "../../infra/registry";
import { SPEC_OPTIONS, UsageError, specFromValues, stringValue, type Command } from "../args";

const USAGE = `usage: fleet registry --stack NAME [--out DIR]
       fleet registry --stack NAME --from-plan [--gateway-url URL] [--out DIR]
       fleet registry --spec FILE.yaml [--gateway-url URL] [--out DIR]`;

export const command: Command = {
  usage: USAGE,
  options: { ...SPEC_OPTIONS, "from-plan": { type: "boolean" }, "gateway-url": { type: "string" }, out: { type: "string" } },
  run: ({ values }) => run(values),
};

async function run(values: Record<string, string | boolean | undefined>): Promise<number> {
  const rawUrl = stringValue(values["gateway-url"]);
  const gatewayUrl = rawUrl === undefined ? undefined : checkGatewayUrl(rawUrl);
  let outputs: FleetOutputs;
  let source: string;
  let label: string;
  if (values["from-plan"] || values.spec) {
    const loaded = specFromValues(values);
    label = loaded.label;
    source = `the plan of ${values.stack ? `stack ${loaded.label}` : values.spec}`;
    outputs = outputsFromPlan(planFleet(loaded.spec), gatewayUrl, values.stack ? `stack ${loaded.label}` : String(values.spec));
  } else if (typeof values.stack === "string") {
    if (gatewayUrl) throw new UsageError("--gateway-url applies to --from-plan and --spec only: a deployed stack's outputs hold its gateway URL");
    label = values.stack;
    source = `the outputs of stack ${values.stack}`;
    outputs = parseFleetOutputs(await readStackOutputs(values.stack), `pulumi stack output --stack ${values.stack}`);
  } else {
    throw new UsageError("no fleet given");
  }
  const dir = stringValue(values.out) ?? path.join("out", label, "registry");
  const written = writeRegistryFiles(dir, generateRegistry(outputs, source));
  const ids = Object.keys(outputs.models);
  console.log(`registry of ${ids.length} model${ids.length === 1 ? "" : "s"} (${ids.join(", ")}) at ${outputs.gatewayUrl}`);
  for (const file of written) console.log(`wrote ${file}`);
  return 0;
}

function checkGatewayUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new UsageError(`--gateway-url: "${value}" is not an http(s) URL (e.g. https://llm.example.com)`);
  }
  return value.replace(/\/+$/, "");
}

/**
 * `pulumi stack output --json --stack NAME`, run in `cwd` (the project directory). Secret outputs
 * (client keys) come back as "[secret]": the registry never sees them.
 */
export function readStackOutputs(stack: string, cwd = process.cwd()): Promise<unknown> {
  const command = `pulumi stack output --json --stack ${stack}`;
  return new Promise((resolve, reject) => {
    execFile("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new RegistryInputError(`${command}: the Pulumi CLI is not on PATH\n  fix: install it (https://www.pulumi.com/docs/iac/download-install/), or build the registry from the plan with --from-plan`));
        return;
      }
      if (err) {
        reject(new RegistryInputError(`${command} failed (${err.code ?? "error"}): ${stderr.trim() || err.message}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new RegistryInputError(`${command} printed something that is not JSON: ${stdout.slice(0, 200)}`));
      }
    });
  });
}
