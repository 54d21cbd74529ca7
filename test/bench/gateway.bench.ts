/**
 * `npm run bench:gateway`: the same load straight to a test server, through plain nginx
 * (proxy_pass, no router), through the least njs a router needs ("njs floor", with and without a
 * header filter after the redirect) and through the gateway (real nginx + njs), in one run: nginx
 * worker CPU per request, latency one request at a time with the targets interleaved request by
 * request (compared as the median of paired differences: steady from run to run), latency
 * p50/p90/p99 at a fixed rate, peak requests/s, and for streams
 * the time to first chunk, the gaps between chunks and whether chunks were coalesced.
 * Goals (issue 13): the router adds at most 60 µs at p50 and keeps at least 85 % of plain nginx's
 * req/s; the floor targets show how much of that njs itself takes. (issue 4) first chunk within
 * 1 ms of direct, no coalescing. BENCH_ONLY=cpu stops after the CPU figures (a quick comparison),
 * BENCH_ONLY=latency after the one-at-a-time latency; BENCH_KEYS=N adds N keys to the fleet.
 * The targets take turns in short rounds, so load from other processes on the machine falls on
 * each alike; worker CPU per request (from /proc) does not depend on that load at all.
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
import { USAGE_POLL_MS } from "../../infra/render/usage/gateway";

const RATE_PER_S = 200;
const RATE_SECONDS = 6;
const PEAK_CONCURRENCY = 32;
const PEAK_SECONDS = 6;
/** Rounds per target (each a slice of the seconds above), taken in turns. */
const ROUNDS = 6;
/** Requests per target for the one-at-a-time latency, taken interleaved. */
const SEQUENTIAL_PER_TARGET = 2000;
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

/**
 * One request at a time, the targets interleaved request by request (their order rotated each
 * time): every target meets the same machine state, so slow drift between turns (other processes,
 * CPU frequency) falls on all alike. Returns each target's latencies, index k of each taken together.
 */
async function interleaved(targets: Target[], perTarget: number): Promise<number[][]> {
  const out: number[][] = targets.map(() => []);
  for (let k = 0; k < perTarget; k++) {
    for (let j = 0; j < targets.length; j++) {
      const i = (j + k) % targets.length;
      const r = await request(targets[i]!, "chat", false);
      if (r.status !== 200) throw new Error(`${targets[i]!.name}: status ${r.status}`);
      out[i]![k] = r.ms;
    }
  }
  return out;
}

/** Median of the differences a[k] − b[k] of paired samples. */
const pairedMedian = (a: number[], b: number[]) => pct(a.map((x, k) => x - b[k]!), 50);

/**
 * CPU seconds one process has used so far: the first field of /proc/PID/schedstat, time on a CPU
 * in ns (proc(5)); /proc/PID/stat counts 10 ms ticks, too coarse for a few hundred requests.
 */
function processCpuSeconds(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e9;
}

/** CPU seconds used so far by the nginx workers of the master in `pidFile` (processCpuSeconds of each). */
function workerCpuSeconds(pidFile: string): number {
  const master = Number(fs.readFileSync(pidFile, "utf8").trim());
  let total = 0;
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) !== master) continue;
      total += processCpuSeconds(Number(d));
    } catch {
      // a process that just ended
    }
  }
  return total;
}

/** nginx worker CPU per request, in µs, for `count` requests 8 at a time. */
async function cpuPerRequest(t: Target, pidFile: string, count: number): Promise<number> {
  const before = workerCpuSeconds(pidFile);
  let next = 0;
  const client = async () => {
    while (next++ < count) {
      const r = await request(t, "chat", false);
      if (r.status !== 200) throw new Error(`${t.name}: status ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  return ((workerCpuSeconds(pidFile) - before) / count) * 1e6;
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
const us = (value: number) => `${value.toFixed(0)} µs`;
const pctOf = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;
const row = (label: string, direct: number, gateway: number) =>
  `  ${label.padEnd(18)} direct ${f(direct).padStart(10)}   gateway ${f(gateway).padStart(10)}   added ${f(gateway - direct).padStart(10)}   ${ratio(gateway, direct)}`;

/**
 * Locations beside the gateway in the same server (same response headers and access log line,
 * without the gateway's rate limits), from the least to the most work: "nginx alone" is a bare
 * proxy_pass with no njs at all; "njs floor" adds the least njs any router needs (a js_set of a
 * constant evaluated before the content phase, a js_content that takes the body as text and only
 * calls r.internalRedirect to a proxy_pass location); "njs floor + filter" adds a
 * js_header_filter that returns at once in that location, which costs a second njs VM since an
 * internal redirect clears the request's njs context. The gateway minus the floor is the
 * router's own logic (and its rate limits).
 * Two more floors do the least a gateway meeting issue 13 must do, and nothing else: the key's
 * SHA-256 looked up in the preloaded fleet data in a js_set (known before the body is read, and no
 * key in any file), the body parsed to find its model, and the reply guard (a js_header_filter
 * where the proxy runs). "key + body" does it with the gateway's structure (js_content, internal
 * redirect, the guard in a second VM); "in place" without a redirect or a second VM: mirror
 * reads the body before the content phase, so proxy_pass's js_set upstream can parse it and the
 * guard runs in the same VM.
 */
const PROXY_ONLY_PATH = "/bench-proxy-only";
const FLOOR_PATH = "/bench-njs-floor";
const FLOOR_FILTER_PATH = "/bench-njs-floor-filter";
const KEY_BODY_PATH = "/bench-key-body";
const IN_PLACE_PATH = "/bench-in-place";
const FLOOR_MODULE = `import crypto from 'crypto';
function constant(r) { return "k"; }
function pass(r) { if (r.requestText) r.internalRedirect("@bench_floor"); }
function passFiltered(r) { if (r.requestText) r.internalRedirect("@bench_floor_filter"); }
function noop(r) { if (r.httpVersion === "0.9") throw new Error("0.9"); }
function keyed(r) {
    const digest = crypto.createHash("sha256").update((r.headersIn.Authorization || "").slice(7)).digest("hex");
    return Object.prototype.hasOwnProperty.call(fleet.clients, digest) ? "k" : "ip";
}
function model(r) {
    const m = JSON.parse(r.requestText || "{}").model;
    return typeof m === "string" && m ? "fleet_0_chat" : "";
}
function passParsed(r) { if (model(r)) r.internalRedirect("@bench_floor_filter"); else r.return(400); }
export default { constant: constant, pass: pass, passFiltered: passFiltered, noop: noop, keyed: keyed, model: model, passParsed: passParsed };
`;
function addBenchLocations(conf: string): string {
  // The gateway's access log names the caller's key ($fleet_key_name, from the js_set that hashes
  // it): the bench locations log the same line with "-" there, so nginx alone runs no njs at all
  // and the floors run only the njs they name.
  const format = /    log_format fleet_json [^;]*;/.exec(conf)?.[0];
  const logPath = /    access_log (\S+) fleet_json;/.exec(conf)?.[1];
  if (!format || !logPath || !format.includes('"key":"$fleet_key_name",')) throw new Error("bench: the gateway's access log is not as this bench expects");
  const plainFormat = format.replace("log_format fleet_json", "log_format bench_plain").replace('"key":"$fleet_key_name",', '"key":"-",');
  const log = `access_log ${logPath} bench_plain;`;
  // A named location's proxy_pass takes no URI part: the path comes from a variable, as in the tiers.
  const upstream = `proxy_pass http://fleet_0_chat$bench_path;\n            proxy_set_header Connection "";\n            ${log}`;
  const locations = [
    `        location = ${PROXY_ONLY_PATH} {\n            proxy_pass http://fleet_0_chat/v1/chat/completions;\n            proxy_set_header Connection "";\n            ${log}\n        }`,
    `        location = ${FLOOR_PATH} {\n            set $bench_client $bench_constant;\n            js_content bench.pass;\n            ${log}\n        }`,
    `        location = ${FLOOR_FILTER_PATH} {\n            set $bench_client $bench_constant;\n            js_content bench.passFiltered;\n            ${log}\n        }`,
    `        location = ${KEY_BODY_PATH} {\n            set $bench_client $bench_keyed;\n            js_content bench.passParsed;\n            ${log}\n        }`,
    `        location = ${IN_PLACE_PATH} {\n            set $bench_client $bench_keyed;\n            mirror /.bench-read-body;\n            mirror_request_body on;\n            js_header_filter bench.noop;\n            proxy_pass http://$bench_model$bench_path;\n            proxy_set_header Connection "";\n            ${log}\n        }`,
    `        location = /.bench-read-body {\n            internal;\n            return 204;\n        }`,
    `        location @bench_floor {\n            ${upstream}\n        }`,
    `        location @bench_floor_filter {\n            js_header_filter bench.noop;\n            ${upstream}\n        }`,
  ].join("\n");
  return conf
    .replace(format, `${format}\n${plainFormat}`)
    .replace("    js_import router from router.js;", "    js_import bench from bench.js;\n    js_set $bench_constant bench.constant;\n    js_set $bench_keyed bench.keyed;\n    js_set $bench_model bench.model;\n    map $uri $bench_path {\n        default /v1/chat/completions;\n    }\n    js_import router from router.js;")
    .replace("        location = /healthz {", `${locations}\n        location = /healthz {`);
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
  // BENCH_KEYS=N: N more keys in the fleet (the fleet's data is preloaded once: its size should cost nothing a request).
  const extraKeys = Array.from({ length: Number(process.env.BENCH_KEYS ?? 0) }, (_, i) => `extra${i}`);
  const allKeys = { ...keys, ...Object.fromEntries(extraKeys.map((k) => [k, { models: ["chat"], rateClass: "std" }])) };
  const plan = testPlan({ rateClasses, perIp: { requestsPerMinute: 6_000_000, burst: 100_000 }, ...(metering || extraKeys.length ? { keys: allKeys } : {}), ...(metering ? { metering: true } : {}) });
  const usageDir = metering ? fs.mkdtempSync(path.join(os.tmpdir(), "fleet-bench-usage-")) : null;
  if (usageDir) fs.chmodSync(usageDir, 0o777);
  const gw = await startGateway(plan, {
    clientKeys: { ...KEYS, ...Object.fromEntries(extraKeys.map((k, i) => [k, `sk-bench-${i}-0123456789abcdef`])) },
    ...(usageDir ? { usage: { dir: usageDir } } : {}),
    resolveEndpoint: (id) => ({ host: "127.0.0.1", port: id === "coder" ? ports.streaming : ports.plain, tls: false }),
    workerProcesses: "auto",
    patch: (files) => {
      files["gateway/nginx.conf"]!.contents = addBenchLocations(files["gateway/nginx.conf"]!.contents);
      files["gateway/bench.js"] = { ...files["gateway/router.js"]!, contents: FLOOR_MODULE };
    },
  });
  const usageService = usageDir ? fork(path.join(gw.prefix, "usage/service.mjs"), [path.join(gw.prefix, "usage/config.json")], { stdio: "ignore" }) : null;
  try {
    const direct: Target = { name: "direct", port: ports.plain, path: "/v1/chat/completions", headers: {}, body: payload };
    const viaGateway: Target = { name: "gateway", port: gw.port, path: "/v1/chat/completions", headers: { Authorization: `Bearer ${KEYS.app}` }, body: payload };
    const proxyOnly: Target = { ...viaGateway, name: "nginx alone", path: PROXY_ONLY_PATH };
    const floor: Target = { ...viaGateway, name: "njs floor", path: FLOOR_PATH };
    const floorFilter: Target = { ...viaGateway, name: "floor + filter", path: FLOOR_FILTER_PATH };
    const keyBody: Target = { ...viaGateway, name: "key + body", path: KEY_BODY_PATH };
    const inPlace: Target = { ...viaGateway, name: "in place", path: IN_PLACE_PATH };
    const directStream = { ...direct, port: ports.streaming };
    const targets = [direct, proxyOnly, floor, floorFilter, keyBody, inPlace, viaGateway];
    /** Per target, in the order of `targets`, what a measurement gave: read back by target. */
    const of = <T>(values: T[]) => (t: Target) => values[targets.indexOf(t)]!;
    const only = process.env.BENCH_ONLY ?? "";

    // Warm up keepalive connections and njs on every path.
    for (const t of [...targets, directStream]) for (let i = 0; i < 200; i++) await request(t, t === directStream ? "coder" : "chat", false);

    const nginxVersion = spawnSync("nginx", ["-v"], { encoding: "utf8" }).stderr.trim();
    console.log(`gateway bench: ${nginxVersion}, njs from the Debian module, ${os.cpus().length} CPUs, test servers in a child process; ${Object.keys(allKeys).length} keys; metering ${metering ? `on${metering === "quota" ? ", the key has a quota" : ", the key has no quota"} (usage service running)` : "off"}`);
    console.log(`targets: direct (the test server), nginx alone (proxy_pass), njs floor (+ js_set, js_content → internalRedirect), floor + filter (+ js_header_filter after the redirect), key + body (+ the key's SHA-256 and the body parsed: the least issue 13 needs), in place (the same without a redirect or second VM: mirror reads the body), gateway\n`);

    // Worker CPU per request first: it does not depend on other load, so it is the steadiest figure.
    const pidFile = `${gw.prefix}/nginx.pid`;
    // The median of the rounds: the first round of a run, or one that met a burst of other load, is often 20-40 µs off.
    const serviceBefore = usageService?.pid ? processCpuSeconds(usageService.pid) : 0;
    const cpu = of([NaN, ...(await inTurns(targets.slice(1), (t) => cpuPerRequest(t, pidFile, CPU_REQUESTS / ROUNDS))).map((rounds) => pct(rounds, 50))]);
    console.log(`nginx worker CPU per request (${CPU_REQUESTS} requests each in ${ROUNDS} turns, median of the turns, independent of other load):`);
    console.log(`  ${targets.slice(1).map((t) => `${t.name} ${us(cpu(t))}`).join("   ")}`);
    console.log(`  over nginx alone: ${targets.slice(2).map((t) => `${t.name} +${us(cpu(t) - cpu(proxyOnly))}`).join("   ")}`);
    console.log(`  second VM for the filter +${us(cpu(floorFilter) - cpu(floor))}   key hash and body parse +${us(cpu(keyBody) - cpu(floorFilter))}   the router's logic beyond them +${us(cpu(viaGateway) - cpu(keyBody))}`);
    if (usageService?.pid) {
      // Only the gateway's requests are metered (the bench locations log no usage line). The service
      // shares the machine's CPUs with nginx, so its time per line is part of what metering costs.
      await new Promise((resolve) => setTimeout(resolve, 3 * USAGE_POLL_MS));
      const service = ((processCpuSeconds(usageService.pid) - serviceBefore) / CPU_REQUESTS) * 1e6;
      console.log(`  usage service CPU per gateway request: ${us(service)} (all its CPU over the turns and until it read the last line, idle polls included)`);
    }
    if (only === "cpu") return;

    // Latency without queueing: one request at a time, targets interleaved request by request, and
    // each target compared with nginx alone sample by sample (the median of paired differences).
    const seq = of(await interleaved(targets, SEQUENTIAL_PER_TARGET));
    const paired = (t: Target) => pairedMedian(seq(t), seq(proxyOnly));
    console.log(`latency one request at a time, ${SEQUENTIAL_PER_TARGET} each, targets interleaved request by request:`);
    console.log(`  p50  ${targets.map((t) => `${t.name} ${f(pct(seq(t), 50))}`).join("   ")}`);
    console.log(`  added over nginx alone, median of paired differences: ${targets.slice(2).map((t) => `${t.name} ${f(paired(t))}`).join("   ")}   (nginx alone over direct ${f(pairedMedian(seq(proxyOnly), seq(direct)))})`);
    if (only === "latency") return;

    const lat = of((await inTurns(targets, (t) => atFixedRate(t, RATE_SECONDS / ROUNDS))).map((rounds) => rounds.flat()));
    console.log(`\nlatency at ${RATE_PER_S} req/s, ${RATE_PER_S * RATE_SECONDS} non-streaming requests each in ${ROUNDS} turns:`);
    for (const p of [50, 90, 99]) console.log(`  p${p}  ${targets.map((t) => `${t.name} ${f(pct(lat(t), p))}`).join("   ")}`);

    const rounds = of(await inTurns(targets, (t) => peak(t, PEAK_SECONDS / ROUNDS)));
    const rate = (t: Target) => rounds(t).reduce((n, r) => n + r[0], 0) / rounds(t).reduce((n, r) => n + r[1], 0);
    // Each turn's rate over nginx alone's in the same round, the median of those: drift of the
    // machine between rounds (other load, CPU frequency) falls on both sides of each ratio alike.
    const roundRatio = (t: Target) => pct(rounds(t).map((r, i) => (r[0] / r[1]) / (rounds(proxyOnly)[i]![0] / rounds(proxyOnly)[i]![1])), 50);
    console.log(`\npeak, ${PEAK_CONCURRENCY} concurrent clients for ${PEAK_SECONDS} s each in ${ROUNDS} turns (client, nginx and test server share the CPUs):`);
    console.log(`  ${targets.map((t) => `${t.name} ${rate(t).toFixed(0)} req/s`).join("   ")}`);
    console.log(`  over nginx alone, median of the rounds' ratios: ${targets.slice(2).map((t) => `${t.name} ${(roundRatio(t) * 100).toFixed(0)} %`).join("   ")}`);

    const sDirect = await streams(directStream);
    const sGateway = await streams({ ...viaGateway, port: gw.port });
    console.log(`\nstreams: ${STREAMS} × ${STREAM_CHUNKS} chunks ${CHUNK_GAP_MS} ms apart, ${STREAM_CONCURRENCY} at a time:`);
    for (const p of [50, 99]) console.log(row(`first chunk p${p}`, pct(sDirect.firstChunk, p), pct(sGateway.firstChunk, p)));
    for (const p of [50, 99]) console.log(row(`chunk gap p${p}`, pct(sDirect.gaps, p), pct(sGateway.gaps, p)));
    console.log(`  reads carrying >1 chunk: direct ${sDirect.coalesced}/${sDirect.reads}   gateway ${sGateway.coalesced}/${sGateway.reads}`);

    // The router's cost is what it adds over nginx alone (nginx's own hop is not the router's to
    // cut); of that, the floors are what any njs router pays, the rest is the router's logic.
    const p50 = (t: Target) => pct(lat(t), 50) - pct(lat(proxyOnly), 50);
    const firstChunkAdded = pct(sGateway.firstChunk, 50) - pct(sDirect.firstChunk, 50);
    const floors = (value: (t: Target) => string) => [floor, floorFilter, keyBody, inPlace].map((t) => `${t.name} ${value(t)}`).join(", ");
    console.log("\ngoals:");
    console.log(`  router adds <= 0.060 ms at p50 over nginx alone, one request at a time (paired): ${f(paired(viaGateway))} ${paired(viaGateway) <= 0.06 ? "met" : "NOT met"} (${floors((t) => f(paired(t)))})`);
    console.log(`  the same at ${RATE_PER_S} req/s, turns: ${f(p50(viaGateway))} ${p50(viaGateway) <= 0.06 ? "met" : "NOT met"} (${floors((t) => f(p50(t)))}; nginx alone adds ${f(pct(lat(proxyOnly), 50) - pct(lat(direct), 50))} over direct)`);
    console.log(`  peak >= 85 % of nginx alone (all rounds pooled; median of the rounds' ratios): ${pctOf(rate(viaGateway), rate(proxyOnly))}; ${(roundRatio(viaGateway) * 100).toFixed(0)} % ${rate(viaGateway) / rate(proxyOnly) >= 0.85 ? "met" : "NOT met"} (${floors((t) => `${pctOf(rate(t), rate(proxyOnly))}; ${(roundRatio(t) * 100).toFixed(0)} %`)})`);
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
