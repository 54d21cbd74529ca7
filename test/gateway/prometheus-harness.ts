/**
 * A real Prometheus (Debian's `prometheus` package) on 127.0.0.1 with a temp config and storage
 * dir, queried over its HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { superviseChild } from "../support/child";
import { freePort, waitFor } from "./harness";

export interface PrometheusProcess {
  url: string;
  /** Instant query: the result vector. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Every metric name Prometheus has stored. */
  names(): Promise<string[]>;
  stop(): Promise<void>;
}

/** `promtool check config`: the real parser's verdict on a rendered prometheus.yml. */
export function promtoolCheck(configFile: string): { ok: boolean; output: string } {
  const r = spawnSync("promtool", ["check", "config", configFile], { encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

export async function startPrometheus(config: string): Promise<PrometheusProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-prom-"));
  const configFile = path.join(dir, "prometheus.yml");
  fs.writeFileSync(configFile, config);
  const port = await freePort();
  const child = spawn("prometheus", [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
  const supervised = superviseChild(child, 5000);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await supervised.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (supervised.dead()) throw new Error(`prometheus exited:\n${supervised.stderr()}`);
      try {
        return (await fetch(`${url}/-/ready`)).status === 200;
      } catch {
        return false;
      }
    }, 20_000, "prometheus to be ready");
  } catch (err) {
    await stop();
    throw err;
  }
  const api = async (p: string) => {
    const res = await fetch(`${url}${p}`);
    const body = (await res.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${p}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (q) => ((await api(`/api/v1/query?query=${encodeURIComponent(q)}`)) as { result: { metric: Record<string, string>; value: [number, string] }[] }).result,
    names: async () => (await api("/api/v1/label/__name__/values")) as string[],
    stop,
  };
}
