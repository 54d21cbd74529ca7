// @ts-check
/**
 * llm-fleet usage service: `node service.mjs CONFIG.json [--clock-offset-ms N]`.
 *
 * nginx writes one JSON line per routed request to <dir>/usage-<hour>.log (the usage log), and
 * usage.js one start line per request sent to an upstream with request limits. This
 * process reads those lines, keeps per-key and per-upstream counters and the metrics, persists
 * them with the read offsets to <dir>/state.json (written atomically, fsync'd, every second), and
 * publishes decisions as files nginx checks: <dir>/blocked/key-<name> (over quota) and
 * <dir>/blocked/<tier file> (provider limit used up), each holding {"until": epoch ms}.
 * nginx never waits for this process: when it is down, requests are served and logged, and
 * counted when it is back. It answers GET /v1/usage on <dir>/usage.sock (nginx proxies the
 * caller's key name to it) and /metrics on the metrics listener.
 *
 * --clock-offset-ms shifts this process's clock (tests put it just before a UTC midnight).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { exposition } from "./metrics.mjs";
import { blocks, emptyState, forgetFuture, ingest, ingestStart, quotaGauges, usageReport } from "./store.mjs";
import { FUTURE_SLACK_MS } from "./windows.mjs";

/**
 * @typedef {import("./store.mjs").StoreConfig & { dir: string, pollMs: number, recordFields: string[], layout: { logPrefix: string, logSuffix: string, blockedDir: string, socket: string }, metrics: { host: string, port: number, allow: string[] } | null }} ServiceConfig
 * @typedef {import("./store.mjs").UsageState} UsageState
 */

const SAVE_MS = 1000;
/** A fully read log file older than this, with a newer one beside it, is deleted. */
const KEEP_READ_FILES_MS = 120_000;
/**
 * At most this much of a log file is read per poll: a backlog (the service was down for an hour
 * of busy traffic) is caught up at READ_MAX_BYTES per file per poll, never read as one string
 * (Node's limit: buffer.constants.MAX_STRING_LENGTH, 536,870,888 characters on Node 22). nginx's
 * lines are under 1 KiB.
 */
const READ_MAX_BYTES = 8 * 1024 * 1024;
/**
 * A start line, or a request's record with every field nginx's fleet_usage log_format writes (all
 * strings; `fields` is config.json's recordFields, from USAGE_LOG_FIELDS in
 * infra/render/usage/gateway.ts, which also writes the log_format). Key and model name the store's
 * objects' members: never an Object.prototype member (a line naming "__proto__" would write into
 * every object's prototype). Names nginx writes (spec key names and model ids) never are one.
 * @param {unknown} r
 * @param {string[]} fields
 */
export function isRecord(r, fields) {
  if (!isObject(r)) return false;
  const o = /** @type {Record<string, unknown>} */ (r);
  if (typeof o.start === "string") return true;
  return fields.every((f) => typeof o[f] === "string") && !(String(o.key) in Object.prototype) && !(String(o.model) in Object.prototype);
}

/** @param {string} file @param {string} text */
function writeAtomic(file, text, mode = 0o640) {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** @param {unknown} v */
const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The saved state, or an empty one. A file that is not a state of version 1 with all its parts
 * (written by hand, or a disk fault: writeAtomic never leaves half a file) is renamed to
 * state.json.unreadable-<ms> first, so the counts in it are not overwritten a second later.
 * @param {string} file @returns {UsageState}
 */
function loadState(file) {
  let why;
  try {
    const s = JSON.parse(fs.readFileSync(file, "utf8"));
    if (isObject(s) && s.version === 1 && ["files", "keys", "tiers", "metrics"].every((k) => isObject(s[k])) && isObject(s.metrics.counters)) return s;
    why = isObject(s) && s.version !== 1 ? `has an unknown version (${JSON.stringify(s.version)})` : "is not a usage state";
  } catch (e) {
    const err = /** @type {NodeJS.ErrnoException} */ (e);
    if (err.code === "ENOENT") return emptyState();
    why = `cannot be read (${err.message})`;
  }
  const aside = `${file}.unreadable-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
    console.error(`usage: ${file} ${why}; kept as ${aside}, counting from zero`);
  } catch (e) {
    console.error(`usage: ${file} ${why}, and it cannot be kept aside (${/** @type {Error} */ (e).message}); counting from zero`);
  }
  return emptyState();
}

/** IPv4 address in CIDR (IPv4-mapped IPv6 addresses included). @param {string} addr @param {string} cidr */
export function inCidr(addr, cidr) {
  const a = addr.replace(/^::ffff:/, "");
  const [base, bits] = cidr.split("/");
  /** @param {string} ip */
  const n = (ip) => ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(a) || !base) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(a) / size) === Math.floor(n(base) / size);
}

/**
 * A clock offset the service can run with: whole milliseconds that keep its clock a date (NaN or a
 * time past Date's range would make every window an Invalid Date).
 * @param {number} ms
 */
const validClockOffset = (ms) => Number.isSafeInteger(ms) && Number.isFinite(new Date(Date.now() + ms).getTime());

/** @param {ServiceConfig} cfg @param {{ clockOffsetMs?: number }} [opts] */
export function startUsageService(cfg, opts = {}) {
  const offset = opts.clockOffsetMs ?? 0;
  if (!validClockOffset(offset)) throw new Error(`clockOffsetMs must be a whole number of milliseconds that keeps the clock a date (got ${offset})`);
  // A config.json rendered before keys named their block file: every poll would throw once a key
  // is over its quota (no block published, none lifted). It comes from the same render as this file.
  for (const [name, k] of Object.entries(cfg.keys)) {
    if (typeof k.blockFile !== "string" || k.blockFile === "") throw new Error(`config.json: keys.${name}.blockFile is missing (a config.json older than service.mjs): render the gateway again (fleet render, fleet gateway or pulumi up) so both come from one render`);
  }
  const now = () => Date.now() + offset;
  const stateFile = path.join(cfg.dir, "state.json");
  const blockDir = path.join(cfg.dir, cfg.layout.blockedDir);
  // The hourly usage logs nginx writes (config.json layout, from USAGE_LAYOUT in infra/render/usage/gateway.ts).
  const escape = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const logFile = new RegExp(`^${escape(cfg.layout.logPrefix)}[0-9T-]+${escape(cfg.layout.logSuffix)}$`);
  fs.mkdirSync(blockDir, { recursive: true });
  // nginx's workers (another user, e.g. "nginx" in the official image) create the usage logs
  // here; the sticky bit keeps them from removing this process's files.
  fs.chmodSync(cfg.dir, 0o1777);
  const state = loadState(stateFile);
  let dirty = false;
  let lastSave = 0;

  /** Reads the complete lines after the saved offsets (READ_MAX_BYTES of each file at most), oldest file first. */
  function readLogs() {
    const files = fs.readdirSync(cfg.dir).filter((f) => logFile.test(f)).sort();
    // A file read only in part this poll holds the later files back: lines are applied in time order.
    let behind = false;
    files.forEach((name, i) => {
      if (behind) return;
      const file = path.join(cfg.dir, name);
      const from = state.files[name] ?? 0;
      const st = fs.statSync(file);
      if (st.size < from) state.files[name] = 0; // truncated by hand: read it again from the top
      if (st.size > from) {
        const fd = fs.openSync(file, "r");
        const buf = Buffer.alloc(Math.min(st.size - from, READ_MAX_BYTES));
        behind = st.size - from > READ_MAX_BYTES;
        try {
          fs.readSync(fd, buf, 0, buf.length, from);
        } finally {
          fs.closeSync(fd);
        }
        let end = buf.lastIndexOf(0x0a) + 1; // only complete lines; a partial one is read next time
        if (end === 0 && buf.length === READ_MAX_BYTES) {
          // No line end in READ_MAX_BYTES: not a line nginx wrote (NUL bytes a crash left?); passed.
          ingestInvalid();
          end = buf.length;
        }
        for (const line of buf.subarray(0, end).toString("utf8").split("\n")) {
          if (!line) continue;
          // A line that cannot be applied is counted invalid and passed: thrown out of this loop, the
          // offset would stay before it and every line read before it would be counted again on
          // every poll.
          let r;
          try {
            r = JSON.parse(line);
          } catch {
            ingestInvalid();
            continue;
          }
          if (!isRecord(r, cfg.recordFields)) {
            ingestInvalid();
            continue;
          }
          const stamped = Number(r.t) * 1000 + offset;
          // Counted at its own time, unless that is unreadable or ahead of this clock (nginx's clock
          // jumped ahead and back): a window from the future would hold every later record out of
          // the key's counts (store.mjs windowOf does not reopen an earlier window). nginx's $msec
          // is never before 1970; a time before Date's range threw out of this loop (Invalid time
          // value), and the lines before it were counted again on every poll.
          const t = stamped >= 0 && stamped <= now() + FUTURE_SLACK_MS ? stamped : now();
          if (typeof r.start === "string") ingestStart(state, cfg, r.start, t);
          else ingest(state, cfg, r, t);
          state.metrics.counters.llm_fleet_usage_lines_total ??= {};
          const c = state.metrics.counters.llm_fleet_usage_lines_total;
          c['result="ok"'] = (c['result="ok"'] ?? 0) + 1;
        }
        state.files[name] = from + end;
        if (end > 0) dirty = true;
      }
      const last = i === files.length - 1;
      if (!last && state.files[name] === st.size && Date.now() - st.mtimeMs > KEEP_READ_FILES_MS) {
        fs.rmSync(file, { force: true });
        delete state.files[name];
        dirty = true;
      }
    });
    for (const name of Object.keys(state.files)) if (!files.includes(name)) delete state.files[name];
  }

  function ingestInvalid() {
    const c = (state.metrics.counters.llm_fleet_usage_lines_total ??= {});
    c['result="invalid"'] = (c['result="invalid"'] ?? 0) + 1;
  }

  /** Makes blocked/ hold exactly the current blocks; `until` in real epoch ms for nginx's clock. */
  function publishBlocks() {
    const want = blocks(state, cfg, now());
    for (const [file, b] of want) {
      const text = JSON.stringify({ ...b, until: b.until - offset });
      const p = path.join(blockDir, file);
      let cur = "";
      try {
        cur = fs.readFileSync(p, "utf8");
      } catch {
        /* not blocked yet */
      }
      // nginx's workers (another user) read it.
      if (cur !== text) writeAtomic(p, text, 0o644);
    }
    // Lifted: every file no block wants. Anything else someone put there (a directory) stays: removing
    // it threw, and that tick's later blocks, lifts and save were skipped, tick after tick.
    for (const d of fs.readdirSync(blockDir, { withFileTypes: true })) {
      if (!d.isDirectory() && !want.has(d.name) && !d.name.endsWith(".tmp")) fs.rmSync(path.join(blockDir, d.name), { force: true });
    }
  }

  function save() {
    writeAtomic(stateFile, JSON.stringify(state));
    dirty = false;
    lastSave = Date.now();
  }

  function tick() {
    try {
      if (forgetFuture(state, now())) dirty = true;
      readLogs();
      publishBlocks();
      if (dirty && Date.now() - lastSave >= SAVE_MS) save();
    } catch (e) {
      console.error(`usage: ${/** @type {Error} */ (e).message}`);
    }
  }
  tick();
  const timer = setInterval(tick, cfg.pollMs);

  /** @param {http.ServerResponse} res @param {number} status @param {unknown} body */
  const json = (res, status, body) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body) + "\n");
  };
  /** @param {string} message @param {string} code */
  const error = (message, code, type = "invalid_request_error") => ({ error: { message, type, code } });

  // nginx → GET /v1/usage with X-Fleet-Key (the authenticated key's name) and X-Fleet-Admin.
  const api = http.createServer((req, res) => {
    tick();
    const url = new URL(req.url ?? "/", "http://usage");
    const caller = String(req.headers["x-fleet-key"] ?? "");
    if (url.pathname !== "/v1/usage" || !caller) return json(res, 404, error("no such endpoint", "unknown_endpoint", "not_found_error"));
    const admin = req.headers["x-fleet-admin"] === "1";
    const asked = url.searchParams.get("key");
    if (asked === "*") {
      if (!admin) return json(res, 403, error("only an admin key may read other keys' usage", "not_admin", "permission_error"));
      return json(res, 200, { object: "list", data: Object.keys(cfg.keys).map((k) => usageReport(state, cfg, k, now())) });
    }
    const key = asked ?? caller;
    if (key !== caller && !admin) return json(res, 403, error("only an admin key may read other keys' usage", "not_admin", "permission_error"));
    if (!Object.hasOwn(cfg.keys, key)) return json(res, 404, error(`no key "${key}"`, "unknown_key", "not_found_error"));
    json(res, 200, usageReport(state, cfg, key, now()));
  });
  const socket = path.join(cfg.dir, cfg.layout.socket);
  fs.rmSync(socket, { force: true });
  // nginx's workers run as another user; the directory's own mode is what keeps others out.
  api.listen(socket, () => fs.chmodSync(socket, 0o666));

  /** @type {http.Server | null} */
  let metricsServer = null;
  if (cfg.metrics) {
    const allow = ["127.0.0.0/8", ...cfg.metrics.allow];
    metricsServer = http.createServer((req, res) => {
      if (!allow.some((c) => inCidr(req.socket.remoteAddress ?? "", c))) return json(res, 403, error("not allowed from this address", "forbidden", "permission_error"));
      if (req.url !== "/metrics") return json(res, 404, error("only /metrics here", "unknown_endpoint", "not_found_error"));
      tick();
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(exposition(state.metrics, quotaGauges(state, cfg, now())));
    });
    metricsServer.listen(cfg.metrics.port, cfg.metrics.host);
  }

  return {
    socket,
    async close() {
      clearInterval(timer);
      tick();
      save();
      await Promise.all([api, metricsServer].map((s) => new Promise((resolve) => (s ? s.close(() => resolve(undefined)) : resolve(undefined)))));
    },
  };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const [configFile, ...rest] = process.argv.slice(2);
  if (!configFile) {
    console.error("usage: node service.mjs CONFIG.json [--clock-offset-ms N]");
    process.exit(2);
  }
  const i = rest.indexOf("--clock-offset-ms");
  const given = i >= 0 ? rest[i + 1] ?? "" : "0";
  const clockOffsetMs = /^-?\d+$/.test(given) ? Number(given) : Number.NaN;
  if (!validClockOffset(clockOffsetMs)) {
    console.error(`usage: --clock-offset-ms needs a whole number of milliseconds (got ${JSON.stringify(given)}), e.g. --clock-offset-ms -5000`);
    process.exit(2);
  }
  /** @type {ServiceConfig} */
  const cfg = JSON.parse(fs.readFileSync(configFile, "utf8"));
  cfg.dir = path.resolve(path.dirname(configFile), cfg.dir);
  const service = startUsageService(cfg, { clockOffsetMs });
  const stop = () => void service.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  console.error(`usage: reading ${cfg.dir}; /v1/usage on ${service.socket}${cfg.metrics ? `; /metrics on ${cfg.metrics.host}:${cfg.metrics.port}` : ""}`);
}
