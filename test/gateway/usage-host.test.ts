/**
 * The usage service on the AWS gateway host (examples/quotas-tiered.yaml): a second container
 * beside nginx, both on the host's usage directory, checked against the Compose schema.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import draft07 from "ajv/dist/refs/json-schema-draft-07.json";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { gatewayNodePlan, renderAwsGatewayHost } from "../../infra/cloud/gatewayHost";
import { planFleet } from "../../infra/plan";
import { requireGateway } from "../../infra/plan/gateway";
import { USAGE_STATE_DIR } from "../../infra/render/usage/container";
import { loadSpecFile } from "../../infra/spec/load";
import { REFERENCE_DIR } from "../support/reference";

const plan = requireGateway(planFleet(loadSpecFile(path.join(__dirname, "../../examples/quotas-tiered.yaml"))), "the test");
const keys = Object.fromEntries(Object.keys(plan.gateway.keys).map((k) => [k, `sk-${k}-0123456789abcdef0123`]));

describe("usage service on the AWS gateway host", () => {
  const { files } = renderAwsGatewayHost(plan, gatewayNodePlan(plan, "t3.small", 100), keys, "quotas/dev");
  const compose = parseYaml(files["compose.yaml"]!.contents) as { services: Record<string, { image: string; command?: string[]; entrypoint?: string[]; volumes: { source: string; target: string; read_only?: boolean }[] | string[]; ports?: string[] }> };

  it("runs beside nginx, both on the host's usage directory, with /metrics published", () => {
    const names = Object.keys(compose.services);
    const usage = compose.services[names.find((n) => n.includes("usage"))!]!;
    const nginx = compose.services[names.find((n) => n.includes("gateway"))!]!;
    expect(usage.image).toMatch(/^node:22/);
    const mounts = (s: typeof usage) => JSON.stringify(s.volumes);
    expect(mounts(usage)).toContain(USAGE_STATE_DIR);
    expect(mounts(nginx)).toContain(USAGE_STATE_DIR);
    expect(mounts(usage)).toContain("service.mjs");
    expect(mounts(nginx)).not.toContain("service.mjs");
    expect(usage.ports).toEqual(["9464:9464"]);
    const config = JSON.parse(files["gateway/usage/config.json"]!.contents);
    expect(config).toMatchObject({ dir: USAGE_STATE_DIR, metrics: { host: "0.0.0.0", port: 9464, allow: ["10.0.0.0/16"] } });
    expect(config.keys.acme.quota).toEqual({ tokensPerDay: 10_000_000, requestsPerDay: 100_000, tokensPerMonth: 300_000_000 });
    expect(Object.keys(config.tierLimits).sort()).toEqual(["cloud-backup", "cloud-mini"]);
  });

  it("passes the Compose schema", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addMetaSchema({ ...draft07, $id: "https://json-schema.org/draft-07/schema" });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, "compose-spec.json"), "utf8")) as object);
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
  });
});
