/**
 * A skeptic's review of issue 14's metering (pure parts): what a user's Prometheus is told to
 * scrape, and hostile input that reaches file names and the usage service's store.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
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

  it("an AWS gateway: its record in the fleet's private zone (test/infra/aws.test.ts); no metering, no gateway job", () => {
    const raw = example("quotas-tiered.yaml");
    expect(raw.gateway.host ?? "aws").toBe("aws");
    expect(scrapedGateway(raw)).toEqual([`gateway.${(raw as unknown as { name: string }).name}.fleet.internal:9464`]);
    expect(scrapedGateway(example("rtx-ollama.yaml"))).toBeUndefined();
  });
});

// The service in this process on a scratch directory (no nginx): what it does with what it reads.
// @ts-expect-error -- tsc sees this test as CommonJS and refuses a static import of ESM (TS1479); vitest loads it fine.
import { startUsageService } from "../../templates/usage/service.mjs";
import * as os from "node:os";
import { QUOTA_FIELDS } from "../../infra/spec/usage";
import { USAGE_LAYOUT, USAGE_LOG_FIELDS } from "../../infra/render/usage/gateway";

const serviceConfig = (dir: string) => ({
  dir, pollMs: 20, metrics: null, quotaFields: QUOTA_FIELDS, recordFields: Object.keys(USAGE_LOG_FIELDS), layout: USAGE_LAYOUT,
  keys: { org: { quota: { requestsPerDay: 100 }, admin: true, blockFile: "key-org" } }, chains: { chat: ["chat"] }, tierLimits: {},
});
const line = (over: Record<string, string> = {}) => JSON.stringify({
  t: String(Date.now() / 1000), key: "org", model: "chat", served: "chat", tier: "0", attempts: " 0", status: "200", ustatus: "200",
  pt: "10", ct: "5", usage: "ok", ttfb: "0.1", rt: "0.2", quota: "", ...over,
}) + "\n";
const hourFile = () => `usage-${new Date().toISOString().slice(0, 13)}.log`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET /v1/usage on the service's socket as nginx asks it. */
async function askUsage(socket: string, caller: string, query = "", admin = true): Promise<{ status: number; body: Record<string, unknown> }> {
  const http = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: `/v1/usage${query}`, headers: { "X-Fleet-Key": caller, "X-Fleet-Admin": admin ? "1" : "0" }, timeout: 2000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on("timeout", () => req.destroy(new Error("GET /v1/usage: no answer in 2 s")));
    req.on("error", reject);
    req.end();
  });
}

describe("the usage service against odd input", () => {
  const dirs: string[] = [];
  const scratch = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-usage-skeptic-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("a usage-log line it cannot apply is counted invalid once; the lines around it are counted once, not again on every poll", async () => {
    const dir = scratch();
    // JSON, but not a request's record: null, a number, an object without the fields nginx writes, a
    // key or model named like an Object.prototype member (it would write into every object's prototype).
    fs.writeFileSync(path.join(dir, hourFile()), line() + "null\n" + "7\n" + '{"t":"1"}\n' + line({ key: "__proto__" }) + line({ model: "constructor" }) + line());
    const service = startUsageService(serviceConfig(dir));
    try {
      await pause(300); // ~15 polls
      const { status, body } = await askUsage(service.socket, "org");
      expect(status).toBe(200);
      expect((body.day as { requests: number }).requests).toBe(2);
    } finally {
      await service.close();
    }
    const state = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8"));
    expect(state.metrics.counters.llm_fleet_usage_lines_total).toEqual({ 'result="ok"': 2, 'result="invalid"': 5 });
  });

  it("a line stamped in the future (a clock that jumped ahead, then was corrected) is counted now: it does not move the key's windows to that future, where every later request would be dropped", async () => {
    const dir = scratch();
    const in2031 = String(Date.parse("2031-03-01T12:00:00Z") / 1000);
    fs.writeFileSync(path.join(dir, hourFile()), line({ t: in2031 }) + line() + line());
    const service = startUsageService(serviceConfig(dir));
    try {
      await pause(150);
      const { body } = await askUsage(service.socket, "org");
      expect((body.day as { requests: number }).requests).toBe(3);
      expect((body.month as { requests: number }).requests).toBe(3);
    } finally {
      await service.close();
    }
  });

  it("a line stamped before 1970 or before Date's range is counted now, once: it neither stops the poll (the lines before it counted again on every poll) nor lands in year 1905", async () => {
    const dir = scratch();
    fs.writeFileSync(path.join(dir, hourFile()), line() + line({ t: "-9000000000000" }) + line({ t: "-62000000000" }) + line());
    const service = startUsageService(serviceConfig(dir));
    try {
      await pause(300); // ~15 polls
      const { body } = await askUsage(service.socket, "org");
      expect((body.day as { requests: number }).requests).toBe(4);
      expect((body.month as { requests: number }).requests).toBe(4);
    } finally {
      await service.close();
    }
  });

  it("a backlog larger than a string can hold (540 MiB: the service was down) is read in pieces; the lines after it are counted", async () => {
    const dir = scratch();
    const file = path.join(dir, hourFile());
    // A sparse file: 540 MiB of NUL bytes (no disk used; what a crash can leave in an appended
    // file), then two requests' lines. In one piece: Buffer.toString refuses more than
    // 536,870,888 characters (buffer.constants.MAX_STRING_LENGTH, Node 22).
    const hole = 540 * 1024 * 1024;
    fs.writeFileSync(file, "");
    fs.truncateSync(file, hole);
    fs.appendFileSync(file, "\n" + line() + line());
    const service = startUsageService(serviceConfig(dir));
    try {
      let requests = 0;
      for (let i = 0; i < 100 && requests < 2; i++) {
        await pause(100);
        requests = ((await askUsage(service.socket, "org")).body.day as { requests: number }).requests;
      }
      expect(requests).toBe(2);
    } finally {
      await service.close();
    }
  }, 30_000);

  it("an admin asking for a key named like an object property (constructor, __proto__) gets 404, not a report", async () => {
    const dir = scratch();
    const service = startUsageService(serviceConfig(dir));
    try {
      for (const name of ["constructor", "__proto__", "toString", "../../etc"]) {
        const r = await askUsage(service.socket, "org", `?key=${encodeURIComponent(name)}`);
        expect(r.status, name).toBe(404);
        expect((r.body.error as { code: string }).code, name).toBe("unknown_key");
      }
    } finally {
      await service.close();
    }
  });

  it("a state.json it cannot read is kept aside (state.json.unreadable-<ms>) rather than overwritten by an empty state", async () => {
    const dir = scratch();
    const corrupt = '{"version":1,"files":{},"keys":{"org":{"day":{"id":"2';
    fs.writeFileSync(path.join(dir, "state.json"), corrupt);
    fs.writeFileSync(path.join(dir, hourFile()), line());
    const service = startUsageService(serviceConfig(dir));
    await pause(100);
    await service.close();
    const kept = fs.readdirSync(dir).filter((f) => f.startsWith("state.json.unreadable-"));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, kept[0]!), "utf8")).toBe(corrupt);
    // The new state counted the log it found.
    expect(JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")).keys.org.day.requests).toBe(1);
  });

  it("a state.json of version 1 without its parts (keys, files, tiers, metrics) is kept aside too, and the log still counts", async () => {
    const dir = scratch();
    fs.writeFileSync(path.join(dir, "state.json"), '{"version":1}');
    fs.writeFileSync(path.join(dir, hourFile()), line());
    const service = startUsageService(serviceConfig(dir));
    try {
      await pause(100);
      const { body } = await askUsage(service.socket, "org");
      expect((body.day as { requests: number }).requests).toBe(1);
    } finally {
      await service.close();
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("state.json.unreadable-"))).toHaveLength(1);
  });

  it("a state.json saved while the host's clock ran a day ahead (then corrected): today's lines and tier starts count again, and no tier stays blocked by minutes from the future", async () => {
    const dir = scratch();
    const dayMs = 86_400_000;
    const ahead = new Date(Date.now() + 40 * dayMs); // a day and a month ahead
    const future = { id: ahead.toISOString().slice(0, 10), requests: 50, prompt: 0, completion: 0, missing: 0 };
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({
      version: 1, files: {}, metrics: { counters: {}, histograms: {} },
      keys: { org: { day: future, month: { ...future, id: future.id.slice(0, 7) } } },
      tiers: { coder: { minute: [ahead.getTime(), ahead.getTime() + 1] }, cloud: { minute: [], day: { id: future.id, requests: 5 } } },
    }));
    // A request, and one start of cloud, whose daily limit is 1: cloud is used up for today.
    fs.writeFileSync(path.join(dir, hourFile()), line() + JSON.stringify({ t: String(Date.now() / 1000), start: "tier-2" }) + "\n");
    const tierLimits = { coder: { requestsPerMinute: 2, blockFile: "tier-1" }, cloud: { requestsPerDay: 1, blockFile: "tier-2" } };
    const service = startUsageService({ ...serviceConfig(dir), tierLimits });
    try {
      await pause(100);
      const { body } = await askUsage(service.socket, "org");
      expect(body.day).toMatchObject({ window: new Date().toISOString().slice(0, 10), requests: 1 });
      expect(body.month).toMatchObject({ requests: 1 });
      expect(fs.readdirSync(path.join(dir, USAGE_LAYOUT.blockedDir))).toEqual(["tier-2"]);
    } finally {
      await service.close();
    }
  });

  // NaN or a clock past Date's range made every window an Invalid Date: each poll failed, and the
  // first GET /v1/usage threw out of the request handler and ended the process.
  it.each([["no number after it", []], ["a unit", ["1h"]], ["past a date's range", ["-9000000000000000"]], ["a fraction", ["1.5"]]])(
    "--clock-offset-ms with %s: exit 2 naming the flag, before anything is read or written", async (_what, value) => {
      const dir = scratch();
      const config = path.join(dir, "config.json");
      fs.writeFileSync(config, JSON.stringify({ ...serviceConfig("."), dir: "." }));
      fs.writeFileSync(path.join(dir, hourFile()), line());
      const { spawnSync } = await import("node:child_process");
      const run = spawnSync(process.execPath, [path.join(ROOT, "templates/usage/service.mjs"), config, "--clock-offset-ms", ...value], { encoding: "utf8", timeout: 5000 });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/--clock-offset-ms needs a whole number of milliseconds/);
      expect(fs.readdirSync(dir).sort()).toEqual(["config.json", hourFile()]);
    });

  it("startUsageService refuses a clock offset that is not a whole number of milliseconds", () => {
    expect(() => startUsageService(serviceConfig(scratch()), { clockOffsetMs: Number.NaN })).toThrow(/clockOffsetMs/);
  });
});
