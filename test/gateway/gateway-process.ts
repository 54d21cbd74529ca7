/**
 * Runs the real nginx (Debian's, with njs 0.7.9) on 127.0.0.1 with a rendered gateway in a temp
 * dir, as a non-root user would: `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`. Every
 * instance is killed by stop() (call it in afterAll) and, as a last resort, when the test process exits.
 * No vitest import here: the benchmark (a plain tsx script) uses it too.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { FleetPlan } from "../../infra/plan/types";
import { renderGateway, type GatewayRenderOptions } from "../../infra/render/gateway";
import type { Artifacts } from "../../infra/render/templates";
import { NGINX_FOREGROUND, nginxArgs } from "../../scripts/commands/gateway";
import { writeArtifacts } from "../../scripts/write-artifacts";
import { superviseChild } from "../support/child";
import { CLOUD_SECRET, KEYS } from "./fleets";

export interface AccessLogEntry {
  request_id: string;
  key: string;
  method: string;
  uri: string;
  model: string;
  served_by: string;
  tier: string;
  status: string;
  upstream: string;
  upstream_status: string;
  request_time: string;
  [field: string]: string;
}

export interface GatewayProcess {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** nginx's prefix: nginx.conf, router.js, fleet.json, logs. */
  prefix: string;
  files: Artifacts;
  accessLog(): AccessLogEntry[];
  errorLog(): string;
  /** Renders `plan` again with the same settings and writes it over the running files (reload() applies it). */
  rewrite(plan: FleetPlan, options?: Partial<GatewayRenderOptions>): void;
  /**
   * SIGHUP: new workers with the files as they are now; old workers finish their requests.
   * `settled`: also wait until the old workers have exited (with no request in flight, quickly): until
   * then a keep-alive connection to one may still be served by the old configuration.
   */
  reload(options?: { settled?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface StartGatewayOptions extends Partial<GatewayRenderOptions> {
  /** Environment for nginx (besides PATH); the external tier's secret by default. */
  env?: Record<string, string>;
  /** Changes rendered files before nginx starts (to simulate faults in the router's data). */
  patch?: (files: Artifacts) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Processes whose parent is `pid` (nginx's workers), from /proc. */
function childPids(pid: number): number[] {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      // Fields after the command (which may hold spaces) start after its closing parenthesis.
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/** `nginx -t` on rendered files: the real parser's verdict, and its output. */
export function nginxTest(files: Artifacts, setup?: (prefix: string) => void): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gw-t-"));
  try {
    writeArtifacts(dir, files);
    setup?.(path.join(dir, "gateway"));
    const r = spawnSync("nginx", [...nginxArgs(path.join(dir, "gateway")), "-t", "-q"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", [CLOUD_SECRET.env]: "x" } });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`);
    await res.text();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function startGateway(plan: FleetPlan, options: StartGatewayOptions = {}): Promise<GatewayProcess> {
  const { env, patch, ...renderOptions } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gw-"));
  // nginx's workers (nobody, when the tests run as root) connect to the router socket in it.
  fs.chmodSync(dir, 0o711);
  const port = await freePort();
  const render = (p: FleetPlan, o: Partial<GatewayRenderOptions>) =>
    renderGateway(p, {
      clientKeys: { ...KEYS },
      workerProcesses: 2,
      ...o,
      listen: { address: "127.0.0.1", port },
      nginx: "debian",
      paths: { pidFile: "nginx.pid", errorLog: "error.log", accessLog: "access.log", tempDir: ".", routerSocket: path.join(dir, "router.sock") },
    });
  const files = render(plan, renderOptions);
  patch?.(files);
  writeArtifacts(dir, files);
  const prefix = path.join(dir, "gateway");
  const child = spawn("nginx", [...nginxArgs(prefix), ...NGINX_FOREGROUND], {
    env: { PATH: process.env.PATH ?? "", [CLOUD_SECRET.env]: CLOUD_SECRET.value, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const supervised = superviseChild(child, 3000);
  const url = `http://127.0.0.1:${port}`;
  const read = (name: string) => (fs.existsSync(path.join(prefix, name)) ? fs.readFileSync(path.join(prefix, name), "utf8") : "");

  const stop = async () => {
    await supervised.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(async () => {
      if (supervised.dead()) throw new Error(`nginx exited:\n${supervised.stderr()}${read("error.log")}`);
      return healthy(url);
    }, 10_000, "nginx to answer /healthz");
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    port,
    prefix,
    files,
    accessLog: () =>
      read("access.log")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as AccessLogEntry),
    errorLog: () => `${supervised.stderr()}${read("error.log")}`,
    rewrite: (p, o = {}) => void writeArtifacts(dir, render(p, { ...renderOptions, ...o })),
    async reload(options = {}) {
      const workersBefore = childPids(child.pid!);
      child.kill("SIGHUP");
      // Ready when a worker that was not there before runs (the old ones may still be finishing).
      await waitFor(() => childPids(child.pid!).some((p) => !workersBefore.includes(p)), 5000, "new nginx workers after reload");
      if (options.settled) await waitFor(() => !childPids(child.pid!).some((p) => workersBefore.includes(p)), 10_000, "the old nginx workers to exit after reload");
      await sleep(100);
    },
    stop,
  };
}

/** Raw request helper: status, parsed JSON (or text) and headers. */
export async function call(
  url: string,
  init: { method?: string; key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.key) headers.Authorization = `Bearer ${init.key}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? "GET" : "POST"), headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** A chat request body. */
export const chat = (model: string | undefined, extra: Record<string, unknown> = {}) => ({
  ...(model === undefined ? {} : { model }),
  messages: [{ role: "user", content: "hi" }],
  ...extra,
});

