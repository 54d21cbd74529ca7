/**
 * The AWS gateway machine: the renderer's bootstrap around one nginx container. Checked with the
 * tools that consume it (cloud-init schema, the Compose schema, shellcheck) and for what nginx
 * needs at boot: its files under the official image's prefix, the TLS files fetched from Secrets
 * Manager, the upstream keys in its environment — and no secret value anywhere.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import draft07 from "ajv/dist/refs/json-schema-draft-07.json";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { gatewayNodePlan, renderAwsGatewayHost, SELF_SIGNED_TLS } from "../../infra/cloud/gatewayHost";
import { NODE_ROOT } from "../../infra/render";
import { secretEnvName } from "../../infra/render/gateway";
import { devFixture, exampleFixture } from "./stacks";
import { REFERENCE_DIR } from "../support/reference";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-gateway-host-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addMetaSchema({ ...draft07, $id: "https://json-schema.org/draft-07/schema" });
const validateCompose = ajv.compile(JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, "compose-spec.json"), "utf8")) as object);

describe.each([devFixture(), exampleFixture("cpu-llamacpp-fallback.yaml")].map((f) => [f.label, f] as const))("%s", (_label, f) => {
  const node = gatewayNodePlan(f.plan, "t3.small", 100);
  const { files, secrets } = renderAwsGatewayHost(f.plan, node, f.clientKeys, `${f.plan.name}/${f.program.stack}`);
  const userData = files["user-data.yaml"]!.contents;

  it("has user data that passes `cloud-init schema` and carries no secret value", () => {
    const target = path.join(tmp, `${f.plan.name}-user-data.yaml`);
    fs.writeFileSync(target, userData);
    const r = run("cloud-init", ["schema", "--config-file", target]);
    expect(r.output).toContain("Valid cloud-config");
    for (const value of f.secretValues) expect(userData).not.toContain(value);
  });

  it("has a compose.yaml valid against the Compose specification, running the pinned nginx on 443", () => {
    const doc = parseYaml(files["compose.yaml"]!.contents, { version: "1.1" }) as { services: Record<string, { image: string; ports: string[]; volumes: string[]; env_file: string[] }> };
    expect(validateCompose(doc)).toBe(true);
    const nginx = doc.services.gateway!;
    expect(nginx.image).toMatch(/^nginx:\d+\.\d+\.\d+$/);
    expect(nginx.ports).toEqual(["443:443"]);
    expect(nginx.volumes).toContain("./gateway/nginx.conf:/etc/nginx/nginx.conf:ro");
    expect(nginx.volumes).toContain(`./secrets/${SELF_SIGNED_TLS.keySecret}:/etc/llm-fleet/tls/key.pem:ro`);
    expect(nginx.env_file).toEqual(["./run/gateway.secrets.env"]);
  });

  it("fetches the TLS files and every upstream key, and puts the keys in nginx's environment", () => {
    const fetch = files["bin/fetch-secrets.sh"]!.contents;
    for (const s of secrets) expect(fetch).toContain(`fetch ${s.name} ${s.awsSecretId}`);
    expect(secrets.map((s) => s.name)).toEqual(expect.arrayContaining(["engine-api-key", SELF_SIGNED_TLS.certificateSecret, SELF_SIGNED_TLS.keySecret]));
    const start = files["bin/start.sh"]!.contents;
    for (const s of secrets.filter((x) => !x.name.startsWith("gateway-tls-"))) expect(start).toContain(`${secretEnvName(s.name)}=${s.name}`);
    const conf = files["gateway/nginx.conf"]!.contents;
    for (const s of secrets.filter((x) => !x.name.startsWith("gateway-tls-"))) expect(conf).toContain(`env ${secretEnvName(s.name)};`);
    expect(conf).toContain("ssl_certificate_key /etc/llm-fleet/tls/key.pem;");
  });

  it("writes shell that passes shellcheck", () => {
    const doc = parseYaml(userData, { version: "1.1" }) as { write_files: { path: string; content: string }[] };
    const scripts = doc.write_files.filter((w) => w.path.startsWith(`${NODE_ROOT}/bin/`));
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const s of scripts) {
      const file = path.join(tmp, path.basename(s.path));
      fs.writeFileSync(file, s.content);
      const r = run("shellcheck", ["--shell=bash", file]);
      expect(r.output, s.path).toBe("");
    }
  });
});
