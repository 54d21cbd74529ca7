/**
 * The AWS gateway's nginx.conf (rendered with the cloud layer's options) reads from its
 * environment only secrets nginxEnvSecrets (infra/plan/secrets.ts) puts in the container.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AMAZON_DNS, gatewayRenderOptions } from "../../infra/cloud/gatewayHost";
import { planFleet } from "../../infra/plan";
import { nginxEnvSecrets } from "../../infra/plan/secrets";
import { renderGateway, secretEnvName } from "../../infra/render/gateway";
import { loadSpecFile } from "../../infra/spec/load";

const EXAMPLES = path.join(__dirname, "../../examples");

describe("the deployed nginx reads only what its container is given", () => {
  const examples = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"));
  it.each(examples)("%s: every env line of nginx.conf names a secret of nginxEnvSecrets", (file) => {
    const plan = planFleet(loadSpecFile(path.join(EXAMPLES, file)));
    if (!plan.gateway) return;
    const keys = Object.fromEntries(Object.keys(plan.gateway.keys).map((k, i) => [k, `ck-${i}-0123456789abcdef`]));
    const conf = renderGateway(plan, gatewayRenderOptions(keys, [AMAZON_DNS]))["gateway/nginx.conf"]!.contents;
    const read = [...conf.matchAll(/^env (\w+);$/gm)].map((m) => m[1]);
    expect(read.length).toBeGreaterThan(0);
    expect(nginxEnvSecrets(plan, true).map(secretEnvName)).toEqual(expect.arrayContaining(read));
  });
});
