/**
 * Metrics, live: a real Prometheus scrapes the usage service's /metrics listener beside a real
 * nginx gateway; every metric of issue 14 is queried back, and every metric the rendered Grafana
 * dashboard uses exists (the gateway's in Prometheus, the engines' in reference/engine-metrics.json).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DASHBOARD_PANELS } from "../../infra/render/usage/dashboard";
import { renderMonitoring } from "../../infra/render/usage/files";
import { renderPrometheusConfig } from "../../infra/render/usage/prometheus";
import { planFleet } from "../../infra/plan";
import { parseFleetSpec } from "../../infra/spec/parse";
import { call, chat, sleep, waitFor } from "./harness";
import { promtoolCheck, startPrometheus, type PrometheusProcess } from "./prometheus-harness";
import { CAPPED_REQUESTS_PER_DAY, USAGE_KEYS, usagePlan } from "./usage-fleet";
import { liveMeteredGateway } from "./usage-harness";
import { STUB_USAGE } from "./usage-stub";

const ISSUE_METRICS = [
  "llm_fleet_requests_total",
  "llm_fleet_tokens_total",
  "llm_fleet_request_duration_seconds_bucket",
  "llm_fleet_time_to_first_byte_seconds_bucket",
  "llm_fleet_failovers_total",
  "llm_fleet_quota_remaining",
];

/** Metric names in a PromQL expression (ours and the engines'). */
const metricNames = (expr: string) => [...expr.matchAll(/\b(llm_fleet_[a-z_]+|vllm:[a-z_]+|llamacpp:[a-z_]+)/g)].map((m) => m[1]!);

describe("Prometheus scrapes the gateway", () => {
  const plan = usagePlan(true);
  const live = liveMeteredGateway(() => plan, { metrics: true });
  let prom: PrometheusProcess;
  beforeAll(async () => {
    const { stubs, gw } = live;
    // Traffic for every series: plain, stream, a failover, a key over its quota.
    const post = (key: string, body: unknown) => call(`${gw.url}/v1/chat/completions`, { key, body });
    await post(USAGE_KEYS.plain, chat("chat"));
    await post(USAGE_KEYS.plain, chat("chat", { stream: true }));
    stubs.chat.fault = { status: 502 };
    await post(USAGE_KEYS.plain, chat("chat"));
    stubs.chat.fault = null;
    stubs.chat.sendUsage = false;
    await post(USAGE_KEYS.plain, chat("chat"));
    stubs.chat.sendUsage = true;
    for (let i = 0; i < CAPPED_REQUESTS_PER_DAY; i++) await post(USAGE_KEYS.capped, chat("chat"));
    // Then one refusal: once the service has published the block and nginx has seen the file (within ~1.2 s).
    await waitFor(async () => {
      if ((await post(USAGE_KEYS.capped, chat("chat"))).status === 429) return true;
      await sleep(300);
      return undefined;
    }, 5000, "the capped key to be refused");
    const config = renderPrometheusConfig(plan, { gatewayTarget: `127.0.0.1:${live.metricsPort}`, scrapeInterval: "1s" });
    prom = await startPrometheus(config);
  }, 60_000);
  // Registered after liveMeteredGateway's: vitest runs after-hooks in reverse, so Prometheus stops first.
  afterAll(async () => {
    await prom?.stop();
  });

  it("stores every metric of the issue, with the gateway's numbers", async () => {
    const names = await waitFor(async () => {
      const n = await prom.names();
      return ISSUE_METRICS.every((m) => n.includes(m)) ? n : undefined;
    }, 20_000, "Prometheus to store every gateway metric");
    expect(names).toEqual(expect.arrayContaining(ISSUE_METRICS));
    const tokens = await prom.query('llm_fleet_tokens_total{key="plain",kind="completion"}');
    expect(Number(tokens[0]!.value[1])).toBe(3 * STUB_USAGE.completion_tokens);
    const failovers = await prom.query("llm_fleet_failovers_total");
    expect(failovers.map((f) => f.metric)).toContainEqual(expect.objectContaining({ model: "chat", from: "chat", to: "coder", reason: "502" }));
    const served = await prom.query('llm_fleet_requests_total{key="plain",served_by="coder"}');
    expect(served[0]!.metric).toMatchObject({ model: "chat", tier: "1", code: "200" });
    const remaining = await prom.query('llm_fleet_quota_remaining{key="capped",window="day",kind="requests"}');
    expect(remaining[0]!.value[1]).toBe("0");
    const refused = await prom.query('llm_fleet_requests_total{key="capped",code="429"}');
    expect(Number(refused[0]!.value[1])).toBe(1);
    const ttfb = await prom.query('llm_fleet_time_to_first_byte_seconds_count{model="chat"}');
    expect(Number(ttfb[0]!.value[1])).toBeGreaterThanOrEqual(3);
  });

  it("the dashboard uses only metrics that exist: the gateway's as scraped, the engines' as documented", async () => {
    const scraped = await prom.names();
    const engines = JSON.parse(fs.readFileSync(path.join(__dirname, "../../reference/engine-metrics.json"), "utf8")).metrics as Record<string, string[]>;
    const known = new Set([...scraped, ...Object.values(engines).flat()]);
    const used = DASHBOARD_PANELS.flatMap((p) => p.targets.flatMap(([expr]) => metricNames(expr)));
    expect(used.length).toBeGreaterThan(10);
    // A histogram is queried by its _bucket series.
    const missing = used.filter((m) => !known.has(m) && !known.has(`${m}_bucket`));
    expect(missing).toEqual([]);
    for (const p of DASHBOARD_PANELS) for (const [expr] of p.targets) {
      // Prometheus parses every query (an error answers status "error").
      await expect(prom.query(expr)).resolves.toBeDefined();
    }
  });

  it("the metrics listener refuses other paths, and /metrics is not on the public listener", async () => {
    expect((await fetch(`http://127.0.0.1:${live.metricsPort}/v1/usage`)).status).toBe(404);
    const pub = await call(`${live.gw.url}/metrics`, { key: USAGE_KEYS.admin });
    expect(pub.status).toBe(404);
  });
});

describe("rendered monitoring files", () => {
  it("prometheus.yml lists the gateway and every engine with metrics, and promtool accepts it", () => {
    const plan = planFleet(parseFleetSpec({
      name: "mon",
      nodes: [{ name: "box", provider: "ssh", host: "ops@10.9.0.1", gpus: ["L4", "L4"] }],
      models: [
        { id: "big", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["box"], gpus: [0] }] },
        { id: "small", engine: "llamacpp", source: { gguf: { repo: "Qwen/Qwen2.5-7B-Instruct-GGUF", file: "qwen2.5-7b-instruct-q4_k_m.gguf" } }, arch: "Qwen/Qwen2.5-7B-Instruct", quantization: "Q4_K_M", replicas: [{ nodes: ["box"], gpus: [1] }] },
      ],
      gateway: { metering: true, keys: {}, rateClasses: {}, perIp: { requestsPerMinute: 60, burst: 5 } },
    }));
    const dir = fs.mkdtempSync("/tmp/fleet-mon-");
    try {
      const keyFile = path.join(dir, "engine-key");
      fs.writeFileSync(keyFile, "k");
      const files = renderMonitoring(plan, { engineKeyFile: keyFile });
      const yml = files["monitoring/prometheus.yml"]!.contents;
      fs.writeFileSync(path.join(dir, "prometheus.yml"), yml);
      const check = promtoolCheck(path.join(dir, "prometheus.yml"));
      expect(check.output).toContain("SUCCESS");
      expect(check.ok).toBe(true);
      expect(yml).toContain("gateway.mon.fleet.internal:9464");
      expect(yml).toMatch(/job_name: llm-fleet-vllm[\s\S]*10\.9\.0\.1:\d+[\s\S]*model: big/);
      expect(yml).toMatch(/job_name: llm-fleet-llamacpp[\s\S]*credentials_file/);
      const dashboard = JSON.parse(files["monitoring/grafana-dashboard.json"]!.contents);
      expect(dashboard.panels.map((p: { title: string }) => p.title)).toContain("Time to first byte p50 / p95");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
