/**
 * Readiness: the probe the Readiness command runs, exercised as the command provider runs it
 * (`node --input-type=module -e <source>` with the component's environment) against a small
 * gateway stand-in on loopback: success once every model answers, failure at the deadline with
 * each model's name and last error, the key sent, the self-signed certificate trusted.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PROBE_SOURCE, readinessProbes } from "../../infra/cloud/readiness";
import { DEFAULT_READINESS_TIMEOUT_SECONDS } from "../../infra/cloud/settings";
import { T, ofType, runFixture } from "./inspect";
import { devFixture, exampleFixture } from "./stacks";

type Health = Record<string, { replicas: number; healthy: number }>;

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A /health that answers with `health(round)` for requests carrying `key`, 401 otherwise. */
async function gatewayStandIn(key: string, health: (round: number) => Health, tls?: { key: string; cert: string }): Promise<{ url: string; rounds: () => number }> {
  let round = 0;
  const handler: http.RequestListener = (req, res) => {
    if (req.headers.authorization !== `Bearer ${key}`) {
      res.writeHead(401).end('{"error":{"message":"invalid key"}}');
      return;
    }
    const models = health(round++);
    const up = Object.values(models).every((m) => m.healthy > 0);
    res.writeHead(up ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ status: up ? "ok" : "degraded", models }));
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `${tls ? "https" : "http"}://${tls ? "localhost" : "127.0.0.1"}:${port}`, rounds: () => round };
}

/** Runs the probe exactly as the Readiness command does. */
function runProbe(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("node", ["--input-type=module", "-e", `${PROBE_SOURCE}\nprocess.exitCode = await main();\n`], { env: { PATH: process.env.PATH, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const KEY = "ck-app-0123456789abcdef0123";
const probesEnv = (models: string[], key = KEY) => JSON.stringify([{ key, models }]);

describe("the readiness probe", () => {
  it("succeeds once every model has an answering replica", async () => {
    const gw = await gatewayStandIn(KEY, (round) => ({ a: { replicas: 1, healthy: round >= 2 ? 1 : 0 }, b: { replicas: 2, healthy: 1 } }));
    const r = await runProbe({ LLM_FLEET_GATEWAY_URL: gw.url, LLM_FLEET_PROBES: probesEnv(["a", "b"]), LLM_FLEET_TIMEOUT_SECONDS: "20", LLM_FLEET_INTERVAL_SECONDS: "0.1" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/all 2 model\(s\) answering/);
    expect(r.stderr).toContain("1 model(s) not up");
    expect(gw.rounds()).toBe(3);
  });

  it("fails at the deadline with each model that is not up and its last error", async () => {
    const gw = await gatewayStandIn(KEY, () => ({ a: { replicas: 2, healthy: 0 }, b: { replicas: 1, healthy: 1 } }));
    const started = Date.now();
    const r = await runProbe({ LLM_FLEET_GATEWAY_URL: gw.url, LLM_FLEET_PROBES: probesEnv(["a", "b", "c"]), LLM_FLEET_TIMEOUT_SECONDS: "1", LLM_FLEET_INTERVAL_SECONDS: "0.2" });
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.stderr).toContain("2 of 3 model(s) did not come up within 1 s (llm-fleet:readinessTimeoutSeconds)");
    expect(r.stderr).toContain("  a: 0 of 2 replicas answering");
    expect(r.stderr).toContain("  c: not listed by the gateway's /health");
    expect(r.stderr).not.toMatch(/^\s+b:/m);
  });

  it("reports an unreachable gateway or a refused key as the models' last error", async () => {
    const gw = await gatewayStandIn(KEY, () => ({ a: { replicas: 1, healthy: 1 } }));
    const refused = await runProbe({ LLM_FLEET_GATEWAY_URL: gw.url, LLM_FLEET_PROBES: probesEnv(["a"], "ck-wrong-0123456789abcdef"), LLM_FLEET_TIMEOUT_SECONDS: "1", LLM_FLEET_INTERVAL_SECONDS: "0.2" });
    expect(refused.stderr).toContain('a: gateway /health: gateway answered 401: {"error":{"message":"invalid key"}}');
    const down = await runProbe({ LLM_FLEET_GATEWAY_URL: "http://127.0.0.1:1", LLM_FLEET_PROBES: probesEnv(["a"]), LLM_FLEET_TIMEOUT_SECONDS: "1", LLM_FLEET_INTERVAL_SECONDS: "0.2" });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/a: gateway \/health: .*ECONNREFUSED/);
  });

  it("reports a gateway that accepts the connection and never answers as a timeout, and keeps polling until it answers", async () => {
    // A gateway still booting, or a firewall that lets the SYN through: the connection opens and
    // nothing comes back. The probe must say so and poll again until its deadline, not crash.
    const held: net.Socket[] = [];
    let silentLeft = 2;
    const gw = await gatewayStandIn(KEY, () => ({ a: { replicas: 1, healthy: 1 } }));
    const port = Number(new URL(gw.url).port);
    const front = net.createServer((socket) => {
      if (silentLeft > 0) {
        silentLeft--;
        held.push(socket); // accepted, never answered
        return;
      }
      socket.pipe(net.connect(port, "127.0.0.1")).pipe(socket);
    });
    servers.push(front as unknown as http.Server);
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    const env = { LLM_FLEET_GATEWAY_URL: url, LLM_FLEET_PROBES: probesEnv(["a"]), LLM_FLEET_INTERVAL_SECONDS: "0.1", LLM_FLEET_REQUEST_TIMEOUT_SECONDS: "0.5" };
    try {
      const r = await runProbe({ ...env, LLM_FLEET_TIMEOUT_SECONDS: "20" });
      expect(r.stderr).not.toMatch(/ReferenceError|is not defined/);
      expect(r.code).toBe(0);
      expect(held).toHaveLength(2);
      expect(r.stdout).toMatch(/all 1 model\(s\) answering/);

      // Never answering: the deadline ends it, naming the timeout as the model's last error.
      silentLeft = Infinity;
      const started = Date.now();
      const silent = await runProbe({ ...env, LLM_FLEET_TIMEOUT_SECONDS: "1.5" });
      expect(silent.code).toBe(1);
      expect(silent.stderr).toContain("1 of 1 model(s) did not come up within 1.5 s");
      expect(silent.stderr).toContain("  a: gateway /health: no answer within 0.5 s");
      expect(Date.now() - started).toBeLessThan(6000);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  const openssl = (() => {
    try {
      execFileSync("openssl", ["version"]);
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!openssl)("reaches a domain without DNS at its address, trusting the self-signed certificate it is given and no other", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-probe-"));
    const subject = ["-subj", "/CN=llm.example.test", "-addext", "subjectAltName=DNS:llm.example.test"];
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", ...subject, "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`], { stdio: "ignore" });
    const tls = { key: fs.readFileSync(`${dir}/key.pem`, "utf8"), cert: fs.readFileSync(`${dir}/cert.pem`, "utf8") };
    const gw = await gatewayStandIn(KEY, () => ({ a: { replicas: 1, healthy: 1 } }), tls);
    const port = new URL(gw.url).port;
    const env = {
      LLM_FLEET_GATEWAY_URL: `https://llm.example.test:${port}`,
      LLM_FLEET_CONNECT_ADDRESS: "127.0.0.1",
      LLM_FLEET_PROBES: probesEnv(["a"]),
      LLM_FLEET_TIMEOUT_SECONDS: "1",
      LLM_FLEET_INTERVAL_SECONDS: "0.2",
      LLM_FLEET_HINT: "the gateway admits only gateway.allowedCidrs (10.0.0.0/8)",
    };
    expect((await runProbe({ ...env, LLM_FLEET_CA_PEM: tls.cert })).code).toBe(0);
    const untrusted = await runProbe(env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/self[- ]signed certificate/);
    expect(untrusted.stderr).toContain("the gateway admits only gateway.allowedCidrs (10.0.0.0/8)");
    const wrongName = await runProbe({ ...env, LLM_FLEET_CA_PEM: tls.cert, LLM_FLEET_GATEWAY_URL: `https://other.example.test:${port}` });
    expect(wrongName.stderr).toMatch(/other\.example\.test.*(altnames|not in the cert)/i);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("which key asks for which model", () => {
  it("uses the first key by name that may use a model, and never probes external providers", () => {
    expect(readinessProbes(devFixture().plan)).toEqual({ probes: [{ keyName: "admin", models: ["qwen3-32b", "qwen2.5-7b"] }], unreachable: [] });
    expect(readinessProbes(exampleFixture("l4-pair-text2sql.yaml").plan)).toEqual({
      probes: [
        { keyName: "chat-app", models: ["qwen2.5-7b"] },
        { keyName: "analytics", models: ["arctic-text2sql"] },
      ],
      unreachable: [],
    });
  });
});

describe("the Readiness command in the program", () => {
  it("waits llm-fleet:readinessTimeoutSeconds, an hour by default, trusting the self-signed certificate", async () => {
    const env = async (extra: Record<string, unknown>) => {
      const run = await runFixture(devFixture(extra));
      const [wait] = ofType(run, T.local);
      expect(wait!.inputs.interpreter).toEqual(["node", "--input-type=module", "-e"]);
      expect(wait!.inputs.create).toBe(`${PROBE_SOURCE}\nprocess.exitCode = await main();\n`);
      return wait!.inputs.environment as Record<string, string>;
    };
    const byDefault = await env({});
    expect(byDefault.LLM_FLEET_TIMEOUT_SECONDS).toBe(String(DEFAULT_READINESS_TIMEOUT_SECONDS));
    expect(byDefault.LLM_FLEET_CA_PEM).toContain("fake certificate gateway-tls-cert");
    expect((await env({ "llm-fleet:readinessTimeoutSeconds": "900" })).LLM_FLEET_TIMEOUT_SECONDS).toBe("900");
  });
});
