/**
 * `npm run bench:gateway`: the same load straight to a test server, through plain nginx
 * (proxy_pass, no router) and through the gateway (real nginx + njs), in one run: added latency
 * p50/p99 at a fixed rate, peak requests/s, nginx worker CPU per request, and for streams the
 * time to first chunk, the gaps between chunks and whether chunks were coalesced.
 * Goals (issue 13): at most 60 µs added at p50 over direct and at least 85 % of plain nginx's
 * req/s; (issue 4) first chunk within 1 ms of direct, no coalescing.
 * The three targets take turns in short rounds, so load from other processes on the machine
 * falls on each alike; worker CPU per request (from /proc) does not depend on that load at all.
 * The test servers run in a child process so they do not share the load generator's event loop.
 */
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { startFakeEngine } from "../support/fake-engine";
import { KEYS, RATE_CLASSES, testPlan } from "../gateway/fleets";
import { startGateway } from "../gateway/gateway-process";

const RATE_PER_S = 200;
const RATE_SECONDS = 6;
const PEAK_CONCURRENCY = 32;
const PEAK_SECONDS = 6;
/** Rounds per target (each a slice of the seconds above), taken in turns. */
const ROUNDS = 6;
const CPU_REQUESTS = 3000;
const STREAMS = 40;
const STREAM_CONCURRENCY = 4;
const STREAM_CHUNKS = 20;
const CHUNK_GAP_MS = 10;

interface Target {
  name: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  body: (model: string, stream: boolean) => string;
}

/** Child role: the two test servers (plain answers; a 20-chunk stream 10 ms apart). */
async function engineRole(): Promise<void> {
  const plain = await startFakeEngine({ servedName: "chat" });
  const streaming = await startFakeEngine({ servedName: "coder", chunkDelayMs: CHUNK_GAP_MS, reply: Array.from({ length: STREAM_CHUNKS }, (_, i) => ` w${i}`) });
  // Dies with the bench, whatever way the bench ends.
  process.on("disconnect", () => process.exit(0));
  process.send!({ plain: plain.port, streaming: streaming.port });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const payload = (model: string, stream: boolean) => JSON.stringify({ model, stream, messages: [{ role: "user", content: "hello" }] });

/** One request; resolves with its latency, and per network read the time and SSE events it carried. */
function request(t: Target, model: string, stream: boolean): Promise<{ ms: number; reads: { atMs: number; events: number }[]; status: number }> {
  const body = t.body(model, stream);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: t.port, path: t.path, method: "POST", agent, headers: { ...t.headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
      const reads: { atMs: number; events: number }[] = [];
      res.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        reads.push({ atMs: performance.now() - started, events: (text.match(/"content":" w/g) ?? []).length });
      });
      res.on("end", () => resolve({ ms: performance.now() - started, reads, status: res.statusCode ?? 0 }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const pct = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** Open loop: RATE_PER_S requests per second for `seconds`, whatever the latency. */
async function atFixedRate(t: Target, seconds: number): Promise<number[]> {
  const total = Math.round(RATE_PER_S * seconds);
  const interval = 1000 / RATE_PER_S;
  const started = performance.now();
  const pending: Promise<{ ms: number; status: number }>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(request(t, "chat", false));
  }
  const results = await Promise.all(pending);
  const failed = results.filter((r) => r.status !== 200).length;
  if (failed > 0) throw new Error(`${t.name}: ${failed} requests failed at fixed rate`);
  return results.map((r) => r.ms);
}

/** Closed loop: PEAK_CONCURRENCY clients back to back for `seconds`; completed requests and seconds taken. */
async function peak(t: Target, seconds: number): Promise<[number, number]> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const client = async () => {
    while (performance.now() < end) {
      const r = await request(t, "chat", false);
      if (r.status !== 200) throw new Error(`${t.name}: status ${r.status} under peak load`);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: PEAK_CONCURRENCY }, client));
  return [done, (performance.now() - started) / 1000];
}

/** The targets in turns, ROUNDS times: per target, what `run` gave each round. */
async function inTurns<T>(targets: Target[], run: (t: Target) => Promise<T>): Promise<T[][]> {
  const out: T[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < targets.length; i++) out[i]!.push(await run(targets[i]!));
  }
  return out;
}

/** CPU seconds (user + system) used so far by the nginx workers of the master in `pidFile`. */
function workerCpuSeconds(pidFile: string): number {
  const master = Number(fs.readFileSync(pidFile, "utf8").trim());
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) !== master) continue;
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // a process that just ended
    }
  }
  return total;
}

/** nginx worker CPU per request, in µs, for CPU_REQUESTS requests 8 at a time. */
async function cpuPerRequest(t: Target, pidFile: string): Promise<number> {
  const before = workerCpuSeconds(pidFile);
  let next = 0;
  const client = async () => {
    while (next++ < CPU_REQUESTS) {
      const r = await request(t, "chat", false);
      if (r.status !== 200) throw new Error(`${t.name}: status ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  return ((workerCpuSeconds(pidFile) - before) / CPU_REQUESTS) * 1e6;
}

async function streams(t: Target) {
  const firstChunk: number[] = [];
  const gaps: number[] = [];
  let coalesced = 0;
  let reads = 0;
  let next = 0;
  const client = async () => {
    while (next < STREAMS) {
      next++;
      const r = await request(t, "coder", true);
      const content = r.reads.filter((x) => x.events > 0);
      if (content.reduce((n, x) => n + x.events, 0) !== STREAM_CHUNKS) throw new Error(`${t.name}: a stream lost chunks`);
      firstChunk.push(content[0]!.atMs);
      content.slice(1).forEach((x, i) => gaps.push(x.atMs - content[i]!.atMs));
      coalesced += content.filter((x) => x.events > 1).length;
      reads += content.length;
    }
  };
  await Promise.all(Array.from({ length: STREAM_CONCURRENCY }, client));
  return { firstChunk, gaps, coalesced, reads };
}

const f = (ms: number) => `${ms.toFixed(3)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const row = (label: string, direct: number, gateway: number, proxyOnly?: number) =>
  `  ${label.padEnd(18)} direct ${f(direct).padStart(10)}${proxyOnly === undefined ? "" : `   nginx alone ${f(proxyOnly).padStart(10)}`}   gateway ${f(gateway).padStart(10)}   added ${f(gateway - direct).padStart(10)}   ${ratio(gateway, direct)}`;

/** A bare proxy_pass location beside the gateway: what the nginx hop costs without the njs router. */
const PROXY_ONLY_PATH = "/bench-proxy-only";
function addProxyOnlyLocation(conf: string): string {
  const location = `        location = ${PROXY_ONLY_PATH} {\n            proxy_pass http://fleet_0_chat/v1/chat/completions;\n            proxy_set_header Connection "";\n        }\n`;
  return conf.replace("        location = /healthz {", `${location}        location = /healthz {`);
}

async function main(): Promise<void> {
  const child = fork(__filename, [], { env: { ...process.env, BENCH_ROLE: "engine" }, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ports = await new Promise<{ plain: number; streaming: number }>((resolve, reject) => {
    child.once("message", (m) => resolve(m as { plain: number; streaming: number }));
    child.once("exit", (code) => reject(new Error(`test servers exited (${code})`)));
  });
  const unlimited = { requestsPerMinute: 6_000_000, burst: 100_000, concurrency: 10_000 };
  const rateClasses = Object.fromEntries(Object.keys(RATE_CLASSES).map((name) => [name, unlimited]));
  // BENCH_METERING=on: usage metering with the usage service running (the key has no quota);
  // BENCH_METERING=quota: the same with a quota on the key (its block file is checked per request).
  const metering = process.env.BENCH_METERING ?? "";
  const keys = { app: { models: ["*"], rateClass: "std", ...(metering === "quota" ? { quota: { tokensPerDay: 1e12, requestsPerDay: 1e9 } } : {}) }, coder: { models: ["coder", "sql"], rateClass: "std" }, tight: { models: ["chat"], rateClass: "tight" }, solo: { models: ["chat"], rateClass: "solo" } };
  const plan = testPlan({ rateClasses, perIp: { requestsPerMinute: 6_000_000, burst: 100_000 }, ...(metering ? { metering: true, keys } : {}) });
  const usageDir = metering ? fs.mkdtempSync(path.join(os.tmpdir(), "fleet-bench-usage-")) : null;
  if (usageDir) fs.chmodSync(usageDir, 0o777);
  const gw = await startGateway(plan, {
    ...(usageDir ? { usage: { dir: usageDir } } : {}),
    resolveEndpoint: (id) => ({ host: "127.0.0.1", port: id === "coder" ? ports.streaming : ports.plain, tls: false }),
    workerProcesses: "auto",
    patch: (files) => void (files["gateway/nginx.conf"]!.contents = addProxyOnlyLocation(files["gateway/nginx.conf"]!.contents)),
  });
  const usageService = usageDir ? fork(path.join(gw.prefix, "usage/service.mjs"), [path.join(gw.prefix, "usage/config.json")], { stdio: "ignore" }) : null;
  try {
    const direct: Target = { name: "direct", port: ports.plain, path: "/v1/chat/completions", headers: {}, body: payload };
    const viaGateway: Target = { name: "gateway", port: gw.port, path: "/v1/chat/completions", headers: { Authorization: `Bearer ${KEYS.app}` }, body: payload };
    const proxyOnly: Target = { ...viaGateway, name: "nginx alone", path: PROXY_ONLY_PATH };
    const directStream = { ...direct, port: ports.streaming };

    // Warm up keepalive connections and njs on every path.
    for (const t of [direct, proxyOnly, viaGateway, directStream]) for (let i = 0; i < 200; i++) await request(t, t === directStream ? "coder" : "chat", false);

    const nginxVersion = spawnSync("nginx", ["-v"], { encoding: "utf8" }).stderr.trim();
    console.log(`gateway bench: ${nginxVersion}, njs from the Debian module, ${os.cpus().length} CPUs, test servers in a child process; metering ${metering ? `on${metering === "quota" ? ", the key has a quota" : ", the key has no quota"} (usage service running)` : "off"}\n`);

    const [latDirect, latProxy, latGateway] = (await inTurns([direct, proxyOnly, viaGateway], (t) => atFixedRate(t, RATE_SECONDS / ROUNDS))).map((rounds) => rounds.flat());
    console.log(`latency at ${RATE_PER_S} req/s, ${RATE_PER_S * RATE_SECONDS} non-streaming requests each in ${ROUNDS} turns ("nginx alone": proxy_pass without the router):`);
    for (const p of [50, 90, 99]) console.log(row(`p${p}`, pct(latDirect!, p), pct(latGateway!, p), pct(latProxy!, p)));

    const rates = (await inTurns([direct, proxyOnly, viaGateway], (t) => peak(t, PEAK_SECONDS / ROUNDS))).map((rounds) =>
      rounds.reduce((n, r) => n + r[0], 0) / rounds.reduce((n, r) => n + r[1], 0));
    const [peakDirect, peakProxy, peakGateway] = rates as [number, number, number];
    console.log(`\npeak, ${PEAK_CONCURRENCY} concurrent clients for ${PEAK_SECONDS} s each in ${ROUNDS} turns (client, nginx and test server share the CPUs):`);
    console.log(`  direct ${peakDirect.toFixed(0)} req/s   nginx alone ${peakProxy.toFixed(0)} req/s   gateway ${peakGateway.toFixed(0)} req/s   gateway/direct ${ratio(peakGateway, peakDirect)}   gateway/nginx alone ${ratio(peakGateway, peakProxy)}`);

    const pidFile = `${gw.prefix}/nginx.pid`;
    const cpuProxy = await cpuPerRequest(proxyOnly, pidFile);
    const cpuGateway = await cpuPerRequest(viaGateway, pidFile);
    console.log(`\nnginx worker CPU per request (${CPU_REQUESTS} requests each, independent of other load): nginx alone ${cpuProxy.toFixed(0)} µs   gateway ${cpuGateway.toFixed(0)} µs   router's share ${(cpuGateway - cpuProxy).toFixed(0)} µs`);

    const sDirect = await streams(directStream);
    const sGateway = await streams({ ...viaGateway, port: gw.port });
    console.log(`\nstreams: ${STREAMS} × ${STREAM_CHUNKS} chunks ${CHUNK_GAP_MS} ms apart, ${STREAM_CONCURRENCY} at a time:`);
    for (const p of [50, 99]) console.log(row(`first chunk p${p}`, pct(sDirect.firstChunk, p), pct(sGateway.firstChunk, p)));
    for (const p of [50, 99]) console.log(row(`chunk gap p${p}`, pct(sDirect.gaps, p), pct(sGateway.gaps, p)));
    console.log(`  reads carrying >1 chunk: direct ${sDirect.coalesced}/${sDirect.reads}   gateway ${sGateway.coalesced}/${sGateway.reads}`);

    const addedP50 = pct(latGateway!, 50) - pct(latDirect!, 50);
    const proxyAddedP50 = pct(latProxy!, 50) - pct(latDirect!, 50);
    const firstChunkAdded = pct(sGateway.firstChunk, 50) - pct(sDirect.firstChunk, 50);
    console.log("\ngoals:");
    console.log(`  added latency p50 <= 0.060 ms over direct: ${f(addedP50)} ${addedP50 <= 0.06 ? "met" : "NOT met"} (nginx alone adds ${f(proxyAddedP50)}; the router ${f(addedP50 - proxyAddedP50)} over it)`);
    console.log(`  peak >= 85 % of nginx alone: ${((peakGateway / peakProxy) * 100).toFixed(0)} % ${peakGateway / peakProxy >= 0.85 ? "met" : "NOT met"}`);
    console.log(`  first chunk within 1 ms of direct (p50): ${f(firstChunkAdded)} ${firstChunkAdded < 1 ? "met" : "NOT met"}`);
    console.log(`  no chunk coalescing: ${sGateway.coalesced === 0 ? "met" : `NOT met (${sGateway.coalesced} reads)`}`);
  } finally {
    usageService?.kill();
    await gw.stop();
    if (usageDir) fs.rmSync(usageDir, { recursive: true, force: true });
    child.kill();
    agent.destroy();
  }
}

if (process.env.BENCH_ROLE === "engine") {
  void engineRole();
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
