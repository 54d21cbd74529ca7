// @ts-check
/**
 * Waits until the gateway's GET /health reports at least one answering replica for every served
 * model, or the deadline passes; then exits 1 naming each model that is not up and its last
 * error. Run by the Readiness component (`node --input-type=module -e <this file> …`) with its
 * settings in the environment; dependency-free, so it runs wherever `pulumi up` runs.
 *
 *   LLM_FLEET_GATEWAY_URL      https://host (its host name is checked against the certificate)
 *   LLM_FLEET_CONNECT_ADDRESS  address to connect to instead of resolving the URL's host (the
 *                              gateway's IP, before DNS for its domain exists); unset = the URL's
 *   LLM_FLEET_PROBES           JSON [{ "key": "<client key>", "models": ["id", …] }]
 *   LLM_FLEET_CA_PEM           PEM of the certificate to trust (self-signed); unset = system CAs
 *   LLM_FLEET_TIMEOUT_SECONDS  overall bound
 *   LLM_FLEET_INTERVAL_SECONDS pause between rounds (default 15)
 *   LLM_FLEET_REQUEST_TIMEOUT_SECONDS  bound on one /health exchange (default 10)
 *   LLM_FLEET_HINT             a line printed with a failure (what else could be wrong)
 */
import * as http from "node:http";
import * as https from "node:https";

/**
 * @param {string} url
 * @param {{ key: string, ca?: string, connectAddress?: string, timeoutMs: number }} o
 * @returns {Promise<{ status: number, body: string }>}
 */
function get(url, o) {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  const options = {
    host: o.connectAddress ?? target.hostname,
    port: target.port || undefined,
    path: `${target.pathname}${target.search}`,
    // SNI and the certificate check use the URL's host name even when connecting by address.
    servername: target.hostname,
    headers: { host: target.host, authorization: `Bearer ${o.key}` },
    ...(o.ca ? { ca: o.ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = client.get(options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    // A bound on the whole exchange, not only on idle time (the `timeout` option): a gateway that
    // accepts and never answers, or trickles bytes, still ends the round.
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${o.timeoutMs / 1000} s`)), o.timeoutMs);
    req.on("error", (err) => {
      clearTimeout(deadline);
      reject(err);
    });
  });
}

/**
 * One round: asks /health with each probe's key; returns the models still down with the reason.
 * @param {{ url: string, probes: { key: string, models: string[] }[], ca?: string, connectAddress?: string, requestTimeoutMs?: number }} o
 * @returns {Promise<Map<string, string>>}
 */
export async function modelsDown(o) {
  const down = new Map();
  for (const probe of o.probes) {
    let report;
    try {
      const res = await get(`${o.url.replace(/\/$/, "")}/health`, { key: probe.key, ca: o.ca, connectAddress: o.connectAddress, timeoutMs: o.requestTimeoutMs ?? 10000 });
      if (res.status !== 200 && res.status !== 503) throw new Error(`gateway answered ${res.status}: ${res.body.slice(0, 200)}`);
      report = JSON.parse(res.body).models ?? {};
    } catch (err) {
      for (const m of probe.models) down.set(m, `gateway /health: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    for (const m of probe.models) {
      const r = report[m];
      if (!r) down.set(m, "not listed by the gateway's /health");
      else if (!(r.healthy > 0)) down.set(m, `0 of ${r.replicas} replicas answering`);
    }
  }
  return down;
}

/**
 * Polls until every model is up or `timeoutSeconds` pass.
 * @param {{ url: string, probes: { key: string, models: string[] }[], ca?: string, connectAddress?: string, timeoutSeconds: number, intervalSeconds?: number, requestTimeoutSeconds?: number, log?: (line: string) => void }} o
 * @returns {Promise<{ ready: boolean, down: Map<string, string>, elapsedSeconds: number }>}
 */
export async function waitForModels(o) {
  const started = Date.now();
  const log = o.log ?? ((line) => process.stderr.write(`${line}\n`));
  const intervalMs = (o.intervalSeconds ?? 15) * 1000;
  const requestTimeoutMs = (o.requestTimeoutSeconds ?? 10) * 1000;
  for (;;) {
    const remainingMs = o.timeoutSeconds * 1000 - (Date.now() - started);
    const down = await modelsDown({ ...o, requestTimeoutMs: Math.max(Math.min(1000, requestTimeoutMs), Math.min(requestTimeoutMs, remainingMs)) });
    const elapsedSeconds = Math.round((Date.now() - started) / 1000);
    if (down.size === 0) return { ready: true, down, elapsedSeconds };
    if (Date.now() - started + intervalMs > o.timeoutSeconds * 1000) return { ready: false, down, elapsedSeconds };
    log(`llm-fleet readiness: ${down.size} model(s) not up after ${elapsedSeconds} s: ${[...down.keys()].join(", ")}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Entry point of the command: settings from the environment, exit code for Pulumi. */
export async function main(env = process.env) {
  const probes = JSON.parse(env.LLM_FLEET_PROBES ?? "[]");
  const result = await waitForModels({
    url: env.LLM_FLEET_GATEWAY_URL ?? "",
    probes,
    ca: env.LLM_FLEET_CA_PEM || undefined,
    connectAddress: env.LLM_FLEET_CONNECT_ADDRESS || undefined,
    timeoutSeconds: Number(env.LLM_FLEET_TIMEOUT_SECONDS),
    intervalSeconds: env.LLM_FLEET_INTERVAL_SECONDS ? Number(env.LLM_FLEET_INTERVAL_SECONDS) : undefined,
    requestTimeoutSeconds: env.LLM_FLEET_REQUEST_TIMEOUT_SECONDS ? Number(env.LLM_FLEET_REQUEST_TIMEOUT_SECONDS) : undefined,
  });
  const models = probes.flatMap((/** @type {{ models: string[] }} */ p) => p.models);
  if (result.ready) {
    process.stdout.write(`all ${models.length} model(s) answering through ${env.LLM_FLEET_GATEWAY_URL} after ${result.elapsedSeconds} s\n`);
    return 0;
  }
  const lines = [...result.down].map(([m, why]) => `  ${m}: ${why}`);
  process.stderr.write(
    `llm-fleet: ${result.down.size} of ${models.length} model(s) did not come up within ${env.LLM_FLEET_TIMEOUT_SECONDS} s (llm-fleet:readinessTimeoutSeconds):\n${lines.join("\n")}\n${env.LLM_FLEET_HINT ? `${env.LLM_FLEET_HINT}\n` : ""}`,
  );
  return 1;
}
