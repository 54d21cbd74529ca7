/**
 * A skeptic's review of `location /` proxying tier 0 in place (issue 13's speed work): what the
 * router sends through the internal listener instead, and what the engine's own 400 replay does
 * to metering. Real nginx + njs 0.7.9, the usage service as its own process, loopback stubs.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROUTER_SOCKET, nginxCommand } from "../../infra/cloud/gatewayHost";
import { requireGateway } from "../../infra/plan/gateway";
import { renderGateway } from "../../infra/render/gateway";
import { nginxArgs } from "../../scripts/commands/gateway";
import { writeArtifacts } from "../../scripts/write-artifacts";
import { superviseChild } from "../support/child";
import { FleetSpecError } from "../../infra/spec/errors";
import { MAX_TIERS } from "../../infra/spec/schema";
import { KEYS, testPlan } from "./fleets";
import { call, chat, freePort, liveGateway, waitFor } from "./harness";
import { rawRequest } from "./raw-http";
import { USAGE_KEYS, usagePlan } from "./usage-fleet";
import { liveMeteredGateway, usageLog } from "./usage-harness";

describe("an engine's 400 in place, asked again from tier 0's raw location, with metering", () => {
  const live = liveMeteredGateway(() => usagePlan(true), { metrics: true });

  const metrics = async () => (await fetch(`http://127.0.0.1:${live.metricsPort}/metrics`)).text();

  it("reaches the engine twice at most, is one request of the key, and no failover from chat to chat", async () => {
    live.stubs.chat.fault = { status: 400 };
    const r = await call(`${live.gw.url}/v1/chat/completions`, { key: USAGE_KEYS.plain, body: chat("chat", { stream: true, stream_options: { include_usage: true } }) });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe(400);
    // The replay is the one extra request (the raw location passes the engine's 400 as it came).
    expect(live.stubs.chat.bodies).toHaveLength(2);
    expect(live.stubs.coder.bodies.concat(live.stubs.cloud.bodies)).toEqual([]);
    const line = await waitFor(() => usageLog(live.dir).find((l) => l.status === "400"), 5000, "the 400's usage line");
    expect(line).toMatchObject({ key: "plain", model: "chat", tier: "0", ustatus: "400 : 400" });
    const text = await waitFor(async () => {
      const t = await metrics();
      return /llm_fleet_requests_total\{[^}]*key="plain"[^}]*code="400"\} 1\b/.test(t) ? t : undefined;
    }, 5000, "the 400 in the metrics");
    // Asked again is not failed over: Grafana's failover panel must not show chat → chat.
    expect(text).not.toMatch(/llm_fleet_failovers_total\{[^}]*from="chat",to="chat"/);
  });

  it("a failover after the replay is still one: chat's 502 in place goes to coder, counted once", async () => {
    live.stubs.chat.fault = { status: 502 };
    const r = await call(`${live.gw.url}/v1/chat/completions`, { key: USAGE_KEYS.plain, body: chat("chat") });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-fleet-tier")).toBe("1");
    const text = await waitFor(async () => {
      const t = await metrics();
      return /llm_fleet_failovers_total\{model="chat",from="chat",to="coder",reason="502"\} 1\b/.test(t) ? t : undefined;
    }, 5000, "the failover in the metrics");
    expect(text).not.toMatch(/from="chat",to="chat"/);
  });
});

describe("the gateway container starts again after nginx was killed (its router socket is left behind)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gw-kill-"));
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(ROUTER_SOCKET, { force: true });
  });
  const healthz = (port: number) => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);

  it("the start command removes the socket nginx.conf listens on; without that nginx refuses to start", async () => {
    // The container's socket path, on this machine's /tmp: nothing else uses it.
    fs.rmSync(ROUTER_SOCKET, { force: true });
    fs.chmodSync(dir, 0o711);
    const plan = requireGateway(testPlan(), "test");
    const port = await freePort();
    writeArtifacts(dir, renderGateway(plan, {
      clientKeys: { ...KEYS }, workerProcesses: 1, listen: { address: "127.0.0.1", port }, nginx: "debian",
      resolveEndpoint: () => ({ host: "127.0.0.1", port: 9, tls: false }),
      paths: { pidFile: "nginx.pid", errorLog: "stderr", accessLog: "access.log", tempDir: ".", routerSocket: ROUTER_SOCKET },
    }));
    const prefix = path.join(dir, "gateway");
    const conf = fs.readFileSync(path.join(prefix, "nginx.conf"), "utf8");
    expect(conf).toContain(`listen unix:${ROUTER_SOCKET};`);
    const [command] = nginxCommand(plan).command;
    expect(command).toMatch(new RegExp(`^rm -f ${ROUTER_SOCKET} && .*exec nginx -g 'daemon off;'$`));
    // The container's command with this prefix: the same steps, nginx given its files here.
    const start = () => superviseChild(spawn("/bin/sh", ["-c", command!.replace("exec nginx ", `exec nginx ${nginxArgs(prefix).join(" ")} `)], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] }), 3000);

    const first = start();
    await waitFor(async () => (await healthz(port)) === 200, 10_000, "nginx to start");
    // Killed as an OOM kill or docker stop's SIGKILL kills it: master and workers, no clean exit.
    const master = Number(fs.readFileSync(path.join(prefix, "nginx.pid"), "utf8"));
    const workers = spawnSync("pgrep", ["-P", String(master)], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);
    for (const pid of [master, ...workers]) process.kill(pid, "SIGKILL");
    await waitFor(() => first.dead(), 5000, "nginx to die");
    expect(fs.existsSync(ROUTER_SOCKET)).toBe(true);

    // nginx alone does not start again: the socket file is in the way.
    const plain = spawnSync("nginx", [...nginxArgs(prefix), "-g", "daemon off;"], { cwd: dir, encoding: "utf8", timeout: 8000 });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toContain("Address already in use");

    const second = start();
    try {
      await waitFor(async () => {
        if (second.dead()) throw new Error(`nginx exited:\n${second.stderr()}`);
        return (await healthz(port)) === 200;
      }, 10_000, "nginx to start again");
      const r = await call(`http://127.0.0.1:${port}/v1/models`, { key: KEYS.app });
      expect(r.status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});

/** chat (one replica, alias chat-latest) falling back to `fallbacks` external models e0, e1, ... */
function longChain(fallbacks: number) {
  const ext = Array.from({ length: fallbacks }, (_, i) => ({ id: `e${i}`, engine: "external", url: "https://api.provider.example/v1", upstreamModel: `p/e${i}`, maxOutputTokens: 4096 }));
  return testPlan({ routes: {}, keys: { app: { models: ["*"], rateClass: "std" } } }, {
    models: [{ id: "chat", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, aliases: ["chat-latest"], maxOutputTokens: 512, replicas: [{ nodes: ["box-a"], gpus: [0] }] }, ...ext],
    fallbacks: { chat: ext.map((e) => e.id) },
  });
}

describe("a chain as long as the gateway allows, every tier failing", () => {
  const live = liveGateway({ plan: () => longChain(MAX_TIERS - 1), gateway: { clientKeys: { app: KEYS.app } } });

  // By alias the router does not proxy in place: @fleet_router, each tier and the 503 are nginx's
  // internal redirects, at most 10 a request; one tier more and the answer was a 500.
  it.each([["by id (in place)", "chat"], ["by alias (through @fleet_router)", "chat-latest"]])("answers 503 JSON %s after asking every tier once", async (_what, model) => {
    for (const engines of Object.values(live.engines)) engines.forEach((e) => e.setFault({ kind: "status", status: 500 }));
    const r = await call(live.api("/v1/chat/completions"), { key: KEYS.app, body: chat(model) });
    expect(r.status).toBe(503);
    expect(r.json.error.type).toBe("server_error");
    expect(Object.values(live.engines).map((engines) => engines.flatMap((e) => e.requests).length)).toEqual(Array(MAX_TIERS).fill(1));
    expect(live.gw.errorLog()).not.toContain("internal redirection cycle");
  });

  it(`refuses a spec with a chain of ${MAX_TIERS + 1} tiers (fleet plan, pulumi preview), naming the model's fallbacks`, () => {
    let thrown: unknown;
    try {
      longChain(MAX_TIERS);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FleetSpecError);
    expect((thrown as FleetSpecError).issues).toEqual([expect.objectContaining({ path: "fallbacks.chat", fix: `keep at most ${MAX_TIERS - 1} fallbacks for chat` })]);
  });
});

describe("nginx.conf's internal locations asked for by a client", () => {
  const live = liveGateway();
  // /_fleet_body is where `location /`'s mirror sends the body; /_fleet_error/<status> the JSON pages.
  it.each([["/_fleet_body"], ["/_fleet_error/500"], ["/_fleet_error/404"]])("%s: 404 JSON with and without a key, for GET and POST", async (p) => {
    for (const key of [KEYS.app, null]) for (const body of [undefined, chat("chat")]) {
      const r = await call(live.api(p), { key, body });
      expect(r.status).toBe(404);
      expect(r.headers.get("content-type")).toBe("application/json");
      expect(r.json.error).toMatchObject({ type: "not_found_error", code: "unknown_endpoint" });
    }
    expect(Object.values(live.engines).flat().flatMap((e) => e.requests)).toEqual([]);
  });
});

describe("a request the router does not proxy in place", () => {
  // Each read of the body is marked in the error log (a test build of router.js): the router reads
  // and parses it in `location /`, and @fleet_router acts on what it decided there.
  const live = liveGateway({ gateway: { patch: (files) => {
    const router = files["gateway/router.js"] as { contents: string };
    router.contents = router.contents.replace("const text = r.requestText || '';", "r.warn('llm-fleet-test: body read'); const text = r.requestText || '';");
  } } });
  const reads = (log: string) => log.split("llm-fleet-test: body read").length - 1;

  it.each([
    ["an alias (a tier location with the model renamed)", { key: KEYS.app, body: chat("chat-latest") }, 200, "Hello from chat"],
    ["an external tier", { key: KEYS.app, body: chat("cloud") }, 200, "Hello from provider/chat-large"],
    ["a path route", { key: KEYS.app, body: chat(undefined), path: "/text2sql" }, 200, "Hello from sql"],
    ["an unknown model", { key: KEYS.app, body: chat("nope") }, 404, '"code":"model_not_found"'],
    ["a model the key may not use", { key: KEYS.coder, body: chat("chat") }, 403, '"code":"model_not_allowed"'],
    ["a body that is not JSON", { key: KEYS.app, body: "{not json" }, 400, '"code":"invalid_json"'],
  ] as const)("%s: its body is read once, and the answer is the router's", async (_what, request, status, text) => {
    const before = live.gw.errorLog();
    const { path: p, ...init } = { path: "/v1/chat/completions", ...request };
    const r = await call(live.api(p), init);
    expect(r.status).toBe(status);
    expect(r.text).toContain(text);
    if (status !== 200) expect(r.headers.get("content-type")).toBe("application/json");
    // The worker writes the line as it reads, before it answers.
    expect(reads(live.gw.errorLog().slice(before.length))).toBe(1);
  });

  it("a GET is refused before its body is read, and a HEAD gets the same status without a body", async () => {
    const before = live.gw.errorLog();
    for (const method of ["GET", "HEAD"]) {
      const r = await call(live.api("/v1/chat/completions"), { key: KEYS.app, method });
      expect(r.status).toBe(405);
      if (method === "GET") expect(r.json.error.code).toBe("method_not_allowed");
      else expect(r.text).toBe("");
    }
    expect(reads(live.gw.errorLog().slice(before.length))).toBe(0);
  });
});

describe("nginx's own errors in `location /`, before the router ran (its error pages are maps on $fleet_placed)", () => {
  const live = liveGateway();
  const sent = () => Object.values(live.engines).flat().flatMap((e) => e.requests).length;

  it("a chunked body over the limit: 413 JSON, no failover, nothing sent", async () => {
    const big = "x".repeat(1_200_000);
    const r = await rawRequest(live.gw.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${KEYS.app}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`, 3000);
    expect(r.status).toBe(413);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r.body).error.code).toBe("request_too_large");
    expect(sent()).toBe(0);
  });

  it("a rate limit's 429 is the rate-limit JSON with Retry-After, not a failover to another tier", async () => {
    // tight: 60/min, burst 2.
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await call(live.api("/v1/chat/completions"), { key: KEYS.tight, body: chat("chat") }));
    const limited = replies.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.json.error.code).toBe("rate_limit_exceeded");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(r.headers.get("x-fleet-tier")).toBeNull();
    }
    expect(sent()).toBe(replies.length - limited.length);
  });
});
