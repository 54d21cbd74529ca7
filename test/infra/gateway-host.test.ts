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
import { gunzipSync } from "node:zlib";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import draft07 from "ajv/dist/refs/json-schema-draft-07.json";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { AMAZON_DNS, DOCKER_DNS, GATEWAY_FILES_SECRET, gatewayNodePlan, gatewayRenderOptions, renderAwsGatewayHost, sameHostEndpoints, SELF_SIGNED_TLS } from "../../infra/cloud/gatewayHost";
import { NODE_ROOT } from "../../infra/render";
import { USER_DATA_LIMIT_BYTES } from "../../infra/render/cloudinit";
import { OFFICIAL_NGINX_IMAGE, renderGateway, secretEnvName } from "../../infra/render/gateway";
import { RESOLVE_MIN_NGINX } from "../../infra/render/gateway/nginx-context";
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
  const { files, secrets, bundle } = renderAwsGatewayHost(f.plan, node, f.clientKeys, `${f.plan.name}/${f.program.stack}`);
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

  it("installs on the small Ubuntu 24.04 image what the bootstrap needs: Docker, the Compose plugin, the AWS CLI on systemd's PATH", () => {
    const doc = parseYaml(userData, { version: "1.1" }) as { packages: string[]; package_update: boolean; runcmd: string[][] };
    expect(doc.package_update).toBe(true);
    expect(doc.packages).toEqual(["docker.io", "docker-compose-v2"]);
    // Before bin/install.sh, which starts the unit whose scripts call `aws` and `docker compose`.
    expect(doc.runcmd).toEqual([
      ["snap", "install", "aws-cli", "--classic"],
      ["ln", "-sf", "/snap/bin/aws", "/usr/local/bin/aws"],
      ["bash", `${NODE_ROOT}/bin/fetch-gateway-files.sh`],
      ["bash", `${NODE_ROOT}/bin/install.sh`],
    ]);
    for (const script of ["bin/fetch-secrets.sh", "bin/report-ready.sh"]) expect(files[script]!.contents).toMatch(/^\s*(if )?aws /m);
    expect(files["systemd/llm-fleet.service"]!.contents).toContain("Requires=docker.service");
  });

  it("keeps the nginx files out of the 16 KB user data: they come from one secret, checked by digest, unpacked at first boot", () => {
    expect(Buffer.byteLength(userData)).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    expect(userData).not.toContain("js_import");
    const packed = JSON.parse(gunzipSync(Buffer.from(bundle.value, "base64")).toString("utf8")) as Record<string, string>;
    const nginxFiles = Object.keys(files).filter((p) => p.startsWith("gateway/")).sort();
    expect(Object.keys(packed).sort()).toEqual(nginxFiles);
    for (const p of nginxFiles) expect(packed[p]).toBe(files[p]!.contents);
    const script = files["bin/fetch-gateway-files.sh"]!.contents;
    expect(script).toContain(`${f.plan.name}/${f.program.stack}/${GATEWAY_FILES_SECRET}`);
    expect(script).toContain(bundle.sha256);
    expect(userData).toContain(bundle.sha256);
  });

  it("unpacks the files as the machine would: bin/fetch-gateway-files.sh run by bash against stand-in curl and aws", () => {
    const root = fs.mkdtempSync(path.join(tmp, "node-"));
    const stubs = fs.mkdtempSync(path.join(tmp, "stubs-"));
    fs.mkdirSync(path.join(root, "bin"));
    fs.writeFileSync(path.join(root, "bin/fetch-gateway-files.sh"), files["bin/fetch-gateway-files.sh"]!.contents, { mode: 0o755 });
    // IMDSv2 token then region; Secrets Manager answers with the stored value (the CLI's text output ends in a newline).
    fs.writeFileSync(path.join(stubs, "curl"), '#!/bin/sh\ncase "$*" in *api/token*) echo token;; *placement/region*) echo us-east-1;; esac\n', { mode: 0o755 });
    fs.writeFileSync(path.join(stubs, "aws"), `#!/bin/sh\necho "$*" >> ${JSON.stringify(path.join(stubs, "calls"))}\ncat ${JSON.stringify(path.join(stubs, "value"))}\necho\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(stubs, "value"), bundle.value);
    const r = spawnSync("bash", [path.join(root, "bin/fetch-gateway-files.sh")], { encoding: "utf8", env: { ...process.env, PATH: `${stubs}:${process.env.PATH}` }, timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const p of Object.keys(files).filter((x) => x.startsWith("gateway/"))) {
      expect(fs.readFileSync(path.join(root, p), "utf8")).toBe(files[p]!.contents);
      expect(fs.statSync(path.join(root, p)).mode & 0o777).toBe(0o644);
    }
    expect(fs.readFileSync(path.join(stubs, "calls"), "utf8")).toContain(`--secret-id ${f.plan.name}/${f.program.stack}/${GATEWAY_FILES_SECRET}`);
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

/** "1.28.1" ≥ "1.27.3", numerically per part. */
const versionAtLeast = (v: string, min: string) => {
  const [a, b] = [v, min].map((x) => x.split(".").map(Number));
  for (let i = 0; i < 3; i++) if (a![i] !== b![i]) return a![i]! > b![i]!;
  return true;
};
/** The server lines of every upstream block of an nginx.conf. */
const serverLines = (conf: string) => [...conf.matchAll(/^\s+server (\S+)( resolve)? weight=/gm)].map((m) => ({ address: m[1]!, resolve: m[2] !== undefined }));

describe("the gateway follows node replacements (nginx re-resolves upstream names)", () => {
  it("pins an official nginx image with `resolve` for upstream servers (open source since 1.27.3)", () => {
    const version = /^nginx:(\d+\.\d+\.\d+)$/.exec(OFFICIAL_NGINX_IMAGE.image)?.[1];
    expect(version).toBeDefined();
    expect(versionAtLeast(version!, RESOLVE_MIN_NGINX)).toBe(true);
    expect(versionAtLeast("1.26.3", RESOLVE_MIN_NGINX)).toBe(false);
  });

  it.each([devFixture(), exampleFixture("mixed-gpu-vllm.yaml")].map((f) => [f.label, f] as const))(
    "%s on AWS: every replica's node name is re-resolved through Amazon's resolver, so a replaced node's new address is used",
    (_label, f) => {
      const { files } = renderAwsGatewayHost(f.plan, gatewayNodePlan(f.plan, "t3.small", 20), f.clientKeys, "x/y");
      const conf = files["gateway/nginx.conf"]!.contents;
      expect(conf).toContain(`resolver ${AMAZON_DNS} valid=30s;`);
      const servers = serverLines(conf);
      const replicaAddresses = f.plan.models.filter((m) => m.engine !== "external").flatMap((m) => m.replicas.map((r) => `${r.endpoint.host}:${r.endpoint.port}`));
      expect(replicaAddresses.length).toBeGreaterThan(0);
      for (const address of replicaAddresses) expect(servers).toContainEqual({ address, resolve: true });
      // Each upstream sits in shared memory (nginx refuses `resolve` otherwise).
      expect(conf.match(/^\s+upstream \S+ \{\n\s+zone /gm)?.length).toBe(conf.match(/^\s+upstream /gm)?.length);
    },
  );

  it("on a docker node: the engines' container names are re-resolved through Docker's DNS, IP literals are left alone", () => {
    const f = exampleFixture("rtx-ollama.yaml");
    const node = f.plan.gateway.host!;
    const conf = renderGateway(f.plan, gatewayRenderOptions(f.clientKeys, [DOCKER_DNS], sameHostEndpoints(f.plan, node)))["gateway/nginx.conf"]!.contents;
    expect(conf).toContain(`resolver ${DOCKER_DNS} valid=30s;`);
    const servers = serverLines(conf);
    expect(servers.length).toBeGreaterThan(0);
    for (const s of servers) expect(s.resolve, s.address).toBe(!/^\d+\.\d+\.\d+\.\d+:/.test(s.address));
  });

  it("refuses the official-image flavor without a resolver instead of writing a config nginx would reject", () => {
    const f = devFixture();
    expect(() => renderGateway(f.plan, gatewayRenderOptions(f.clientKeys, []))).toThrow(/needs a resolver/);
  });
});
