/**
 * Usage metering on a gateway hosted on a docker node (examples/rtx-ollama.yaml with metering and
 * a quota), through the Docker API under Pulumi's mocks: the usage service runs as a second
 * container beside nginx, from the same service descriptions as the AWS gateway's compose.yaml,
 * both on one named volume that outlives the stack.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { USAGE_SERVICE_IMAGE, USAGE_STATE_DIR } from "../../infra/render/usage/container";
import { OFFICIAL_NGINX_IMAGE } from "../../infra/render/gateway";
import { ROUTER_SOCKET } from "../../infra/cloud/gatewayHost";
import type { ProgramRun, RecordedResource } from "./harness";
import { REDACTED } from "./harness";
import { T, ofType, runFixture } from "./inspect";
import { ROOT, fixture } from "./stacks";

const VOLUME = "docker:index/volume:Volume";

function meteredRtx() {
  const raw = parseYaml(fs.readFileSync(path.join(ROOT, "examples", "rtx-ollama.yaml"), "utf8")) as { gateway: Record<string, unknown> & { keys: Record<string, Record<string, unknown>> } };
  raw.gateway.metering = true;
  raw.gateway.metricsCidrs = ["192.168.1.0/24"];
  raw.gateway.keys.editor!.quota = { requestsPerDay: 1000 };
  return fixture("examples/rtx-ollama.yaml + metering", "example-rtx-metered", raw);
}

describe("metering on a docker-hosted gateway (Docker API)", () => {
  let run: ProgramRun;
  let containers: RecordedResource[];
  const byName = (n: string) => containers.find((c) => c.inputs.name === n)!;
  beforeAll(async () => {
    run = await runFixture(meteredRtx());
    containers = ofType(run, T.container);
  });

  it("runs the usage service beside nginx on the same daemon, its image pinned", () => {
    expect(containers.map((c) => c.inputs.name).sort()).toEqual(["llm-fleet-gateway", "llm-fleet-ollama", "llm-fleet-usage"]);
    const images = ofType(run, T.image).map((i) => i.inputs.name);
    expect(images).toHaveLength(3);
    expect(images).toEqual(expect.arrayContaining([OFFICIAL_NGINX_IMAGE.image, USAGE_SERVICE_IMAGE]));
    // Pinned to a release (x.y.z), as the nginx image is.
    expect(USAGE_SERVICE_IMAGE).toMatch(/^node:\d+\.\d+\.\d+-alpine$/);
    const usage = byName("llm-fleet-usage").inputs;
    expect(usage.entrypoints).toEqual(["node"]);
    expect(usage.command).toEqual(["/opt/llm-fleet-usage/service.mjs", "/opt/llm-fleet-usage/config.json"]);
    const uploads = usage.uploads as { file: string; content: string }[];
    expect(uploads.map((u) => u.file).sort()).toEqual(["config.json", "metrics.mjs", "service.mjs", "store.mjs", "windows.mjs"].map((f) => `/opt/llm-fleet-usage/${f}`));
    const config = JSON.parse(uploads.find((u) => u.file.endsWith("config.json"))!.content);
    expect(config).toMatchObject({ dir: USAGE_STATE_DIR, metrics: { host: "0.0.0.0", port: 9464, allow: ["192.168.1.0/24"] }, keys: { editor: { quota: { requestsPerDay: 1000 } } } });
    expect(usage.ports).toEqual([{ internal: 9464, external: 9464 }]);
    expect(usage.restart).toBe("unless-stopped");
  });

  it("shares one named volume for the usage directory", () => {
    const volumes = ofType(run, VOLUME).filter((v) => v.inputs.name === "llm-fleet-usage-state");
    expect(volumes).toHaveLength(1);
    for (const n of ["llm-fleet-gateway", "llm-fleet-usage"]) {
      expect(byName(n).inputs.volumes, n).toEqual([{ volumeName: "llm-fleet-usage-state", containerPath: USAGE_STATE_DIR, readOnly: false }]);
      expect(byName(n).dependencies.some((u) => u.endsWith("::gateway-usage-state")), n).toBe(true);
    }
  });

  it("nginx gets the gateway's files (not the service's), its keys as secret env, and readies the usage directory before it serves", () => {
    const gw = byName("llm-fleet-gateway");
    expect(gw.plainInputs.envs).toBe(REDACTED);
    expect(gw.plainInputs.uploads).toBe(REDACTED);
    const files = (gw.inputs.uploads as { file: string }[]).map((u) => u.file);
    expect(files).toContain("/etc/nginx/nginx.conf");
    expect(files).toContain("/etc/nginx/usage.js");
    expect(files).toContain("/etc/llm-fleet/tls/certificate.pem");
    expect(files.some((f) => f.includes("service.mjs"))).toBe(false);
    const conf = (gw.inputs.uploads as { file: string; content: string }[]).find((u) => u.file === "/etc/nginx/nginx.conf")!.content;
    expect(conf).toContain(`server unix:${USAGE_STATE_DIR}/usage.sock`);
    expect(gw.inputs.entrypoints).toEqual(["/bin/sh", "-c"]);
    expect(gw.inputs.command).toEqual([`rm -f ${ROUTER_SOCKET} && mkdir -p ${USAGE_STATE_DIR} && chmod 1777 ${USAGE_STATE_DIR} && exec nginx -g 'daemon off;'`]);
    expect(gw.inputs.ports).toEqual([{ internal: 443, external: 443 }]);
  });
});
