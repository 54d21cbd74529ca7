/**
 * A skeptic's review of issue 14's metering (pure parts): what a user's Prometheus is told to
 * scrape, and hostile input that reaches file names and the usage service's store.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import { parseFleetSpec } from "../../infra/spec/parse";
import { renderMonitoring } from "../../infra/render/usage/files";

const ROOT = path.resolve(__dirname, "..", "..");
const example = (name: string) => parseYaml(fs.readFileSync(path.join(ROOT, "examples", name), "utf8")) as { gateway: Record<string, unknown>; nodes: Record<string, unknown>[] };
const scrapedGateway = (raw: unknown) => {
  const yml = parseYaml(renderMonitoring(planFleet(parseFleetSpec(raw)))["monitoring/prometheus.yml"]!.contents) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  return yml.scrape_configs.find((j) => j.job_name === "llm-fleet-gateway")?.static_configs[0]?.targets;
};

describe("monitoring/prometheus.yml scrapes the gateway where it runs", () => {
  it("a gateway on a docker node: that node's address (its port 9464 is published there), not the AWS private name", () => {
    const raw = example("rtx-ollama.yaml");
    raw.gateway.metering = true;
    expect(scrapedGateway(raw)).toEqual(["192.168.1.40:9464"]);
    // The node's own address when the spec gives one; IPv6 in brackets.
    raw.nodes[0]!.address = "fd00::40";
    expect(scrapedGateway(raw)).toEqual(["[fd00::40]:9464"]);
    // A domain names the gateway wherever it runs.
    raw.gateway.domain = "llm.example.com";
    expect(scrapedGateway(raw)).toEqual(["llm.example.com:9464"]);
  });

  it("an AWS gateway: its name in the fleet's private zone; no metering, no gateway job", () => {
    const raw = example("quotas-tiered.yaml");
    expect(raw.gateway.host ?? "aws").toBe("aws");
    expect(scrapedGateway(raw)).toEqual([`gateway.${(raw as unknown as { name: string }).name}:9464`]);
    expect(scrapedGateway(example("rtx-ollama.yaml"))).toBeUndefined();
  });
});
