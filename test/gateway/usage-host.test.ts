/**
 * The usage service on the AWS gateway host (examples/quotas-tiered.yaml): a second container
 * beside nginx, both on the host's usage directory, checked against the Compose schema.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import draft07 from "ajv/dist/refs/json-schema-draft-07.json";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { containerPlan } from "../../infra/cloud/dockerContainers";
import { DOCKER_DNS, gatewayNodePlan, gatewayRenderOptions, gatewayServices, renderAwsGatewayHost, tlsFile } from "../../infra/cloud/gatewayHost";
import { composeDocument } from "../../infra/render/compose";
import { renderGateway } from "../../infra/render/gateway";
import { parseFleetSpec } from "../../infra/spec/parse";
import { planFleet } from "../../infra/plan";
import { requireGateway } from "../../infra/plan/gateway";
import { USAGE_STATE_DIR } from "../../infra/render/usage/container";
import { loadSpecFile } from "../../infra/spec/load";
import { REFERENCE_DIR } from "../support/reference";

const plan = requireGateway(planFleet(loadSpecFile(path.join(__dirname, "../../examples/quotas-tiered.yaml"))), "the test");
const keys = Object.fromEntries(Object.keys(plan.gateway.keys).map((k) => [k, `sk-${k}-0123456789abcdef0123`]));

function composeValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addMetaSchema({ ...draft07, $id: "https://json-schema.org/draft-07/schema" });
  return ajv.compile(JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, "compose-spec.json"), "utf8")) as object);
}

/**
 * Runs a container's start (entrypoint + command) with the usage directory moved under `root`
 * and a stand-in `nginx` on PATH that records its arguments; returns what it recorded.
 */
function runStart(entrypoint: string[], command: string[], root: string): string | null {
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const record = path.join(root, "nginx-args");
  fs.writeFileSync(path.join(bin, "nginx"), `#!/bin/sh\nprintf '%s|' "$@" > ${record}\n`, { mode: 0o755 });
  const argv = [...entrypoint, ...command].map((a) => a.split(USAGE_STATE_DIR).join(path.join(root, "usage")));
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  expect(r.status, r.stderr).toBe(0);
  return fs.existsSync(record) ? fs.readFileSync(record, "utf8") : null;
}

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
    const validate = composeValidator();
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
  });

  it("nginx makes the usage directory writable for its workers before it serves, whichever container starts first", () => {
    // Docker creates the bind mount's directory root-owned 0755; nginx's workers (user nginx)
    // could not write the usage log until the usage service's chmod (issue 14 item 5).
    const nginx = compose.services.gateway!;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-usage-start-"));
    try {
      const args = runStart(nginx.entrypoint ?? [], nginx.command ?? [], root);
      expect((fs.statSync(path.join(root, "usage")).mode & 0o7777).toString(8)).toBe("1777");
      expect(args).toBe("-g|daemon off;|");
      // Again on a directory that exists with the wrong mode (a restore, a hand-made directory).
      fs.chmodSync(path.join(root, "usage"), 0o755);
      runStart(nginx.entrypoint ?? [], nginx.command ?? [], root);
      expect((fs.statSync(path.join(root, "usage")).mode & 0o7777).toString(8)).toBe("1777");
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("usage service on a docker-hosted gateway", () => {
  const raw = parseYaml(fs.readFileSync(path.join(__dirname, "../../examples/rtx-ollama.yaml"), "utf8")) as { gateway: Record<string, unknown> };
  raw.gateway.metering = true;
  const docker = requireGateway(planFleet(parseFleetSpec(raw)), "the test");
  const files = renderGateway(docker, gatewayRenderOptions({ editor: "sk-editor-0123456789abcdef0123" }, [DOCKER_DNS]));
  const services = gatewayServices(docker, files);

  it("is planned (a docker node's gateway was refused with metering), and its containers pass the Compose schema", () => {
    expect(services.map((s) => s.name)).toEqual(["gateway", "usage"]);
    const validate = composeValidator();
    const doc = composeDocument(services);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  });

  it("maps to Docker API containers from the same descriptions: files uploaded, the usage directory a named volume", () => {
    const withTls = { ...files, [tlsFile("gateway-tls-certificate")]: { contents: "cert" }, [tlsFile("gateway-tls-key")]: { contents: "key" } };
    const [nginx, usage] = services.map((s) => containerPlan("rtx-box", s, withTls));
    for (const c of [nginx!, usage!]) expect(c.volumes).toEqual([{ volumeName: "llm-fleet-usage-state", containerPath: USAGE_STATE_DIR, readOnly: false }]);
    expect(usage!.uploads.map((u) => u.file)).toContain("/opt/llm-fleet-usage/service.mjs");
    expect(nginx!.uploads.map((u) => u.file)).toEqual(expect.arrayContaining(["/etc/nginx/nginx.conf", "/etc/nginx/usage.js", "/etc/llm-fleet/tls/key.pem"]));
    expect(usage!.ports).toEqual([{ internal: 9464, external: 9464 }]);
  });
});
