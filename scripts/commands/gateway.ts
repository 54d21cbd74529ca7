/**
 * `fleet gateway --spec FILE|--stack NAME --port N [--out DIR]`: renders the gateway and runs the
 * system nginx (Debian's, with the njs module) in the foreground on 127.0.0.1:N. Client keys come
 * from LLM_FLEET_KEY_<NAME>, upstream keys from LLM_FLEET_SECRET_<NAME>; neither is written or
 * printed. Ctrl-C stops nginx.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planFleet } from "../../infra/plan";
import { requireGateway } from "../../infra/plan/gateway";
import { nginxEnvSecrets } from "../../infra/plan/secrets";
import { keyEnvName, renderGateway, secretEnvName } from "../../infra/render/gateway";
import type { Artifacts } from "../../infra/render/templates";
import type { GatewaySpec } from "../../infra/spec/schema";
import { SPEC_OPTIONS, UsageError, specFromValues, type Command } from "../args";
import { writeArtifacts } from "../write-artifacts";
import { USAGE_FLAGS, localUsageOptions, startLocalUsageService } from "../usage-local";

/** nginx in the foreground with `prefix` as its prefix (the folder of nginx.conf, router.js …). */
export function nginxArgs(prefix: string, extra: string[] = []): string[] {
  return ["-p", prefix, "-c", path.join(prefix, "nginx.conf"), "-e", "stderr", ...extra];
}
export const NGINX_FOREGROUND = ["-g", "daemon off;"];

/** Key values from the environment, or the names of the variables that are missing. */
export function clientKeysFromEnv(gateway: GatewaySpec, env: NodeJS.ProcessEnv): { keys: Record<string, string>; missing: string[] } {
  const keys: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of Object.keys(gateway.keys)) {
    const value = env[keyEnvName(name)];
    if (value) keys[name] = value;
    else missing.push(`${keyEnvName(name)} (the key clients send for gateway key "${name}")`);
  }
  return { keys, missing };
}

/** DNS servers of this machine, for health probes of upstreams named by host name. */
function systemResolvers(): string[] {
  try {
    return fs
      .readFileSync("/etc/resolv.conf", "utf8")
      .split("\n")
      .map((l) => /^\s*nameserver\s+([0-9a-fA-F.:]+)\s*$/.exec(l)?.[1])
      .filter((s): s is string => s !== undefined)
      .map((s) => (s.includes(":") ? `[${s}]` : s));
  } catch {
    return [];
  }
}

/** nginx can open /dev/stdout for its access log unless stdout is a socket (ENXIO). */
function stdoutOpenable(): boolean {
  try {
    return !fs.fstatSync(1).isSocket();
  } catch {
    return false;
  }
}

export const command: Command = {
  usage: `usage: fleet gateway --spec FILE.yaml | --stack NAME --port N [--out DIR] ${USAGE_FLAGS}
  --port N           listen on 127.0.0.1:N
  --out DIR          keep the rendered config in DIR/gateway (default: a temporary folder, removed on exit)
  --metrics-port N   with gateway.metering: the usage service's /metrics on 127.0.0.1:N
  --usage-dir DIR    with gateway.metering: where the usage log and counters are kept between runs
  client keys come from LLM_FLEET_KEY_<NAME>, upstream keys from LLM_FLEET_SECRET_<NAME>`,
  options: { ...SPEC_OPTIONS, port: { type: "string" }, out: { type: "string" }, "metrics-port": { type: "string" }, "usage-dir": { type: "string" } },
  run: ({ values }) => run(values),
};

async function run(values: Record<string, string | boolean | undefined>): Promise<number> {
  const port = Number(values.port);
  if (values.port === undefined) throw new UsageError("--port N is required");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port "${String(values.port)}" is not a port number (1-65535)`);
  const { spec, label } = specFromValues(values);
  const plan = requireGateway(planFleet(spec), "fleet gateway");
  const { keys, missing } = clientKeysFromEnv(plan.gateway, process.env);
  if (missing.length > 0) {
    console.error(`fleet gateway: set ${missing.length === 1 ? "this environment variable" : "these environment variables"}:\n  ${missing.join("\n  ")}`);
    return 1;
  }
  const unsetSecrets = nginxEnvSecrets(plan, false).map(secretEnvName).filter((e) => !process.env[e]);
  if (unsetSecrets.length > 0) {
    console.error(`fleet gateway: warning: ${unsetSecrets.join(", ")} not set; tiers that need ${unsetSecrets.length === 1 ? "it" : "them"} are called without a key`);
  }

  const usage = localUsageOptions(plan, values);
  if (typeof usage === "string") throw new UsageError(usage);
  // The router's unix socket: nginx takes its path as given (relative to where it starts, at most
  // 107 bytes), so it gets a short directory of its own, which the workers (nobody, under root) can enter.
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-router-"));
  fs.chmodSync(socketDir, 0o711);
  const removeSocketDir = () => fs.rmSync(socketDir, { recursive: true, force: true });
  let artifacts: Artifacts;
  try {
    artifacts = renderGateway(plan, {
      clientKeys: keys,
      listen: { address: "127.0.0.1", port },
      nginx: "debian",
      resolver: systemResolvers(),
      paths: {
        pidFile: "nginx.pid",
        errorLog: "stderr",
        accessLog: stdoutOpenable() ? "/dev/stdout" : "access.log",
        tempDir: ".",
        routerSocket: path.join(socketDir, "router.sock"),
      },
      ...(usage ? { usage } : {}),
    });
  } catch (err) {
    removeSocketDir();
    console.error(`fleet gateway: ${(err as Error).message}`);
    return 1;
  }
  const outDir = typeof values.out === "string" ? path.resolve(values.out) : fs.mkdtempSync(path.join(os.tmpdir(), "llm-fleet-gateway-"));
  writeArtifacts(outDir, artifacts);
  const prefix = path.join(outDir, "gateway");
  console.error(`fleet gateway: ${label}: http://127.0.0.1:${port}/v1 (config in ${prefix}); Ctrl-C stops it`);

  if (usage) console.error(`fleet gateway: usage counted in ${usage.dir}${usage.metrics ? `; metrics at http://127.0.0.1:${usage.metrics.port}/metrics` : ""}`);
  const usageService = usage ? startLocalUsageService(outDir) : null;
  const nginx = spawn("nginx", [...nginxArgs(prefix), ...NGINX_FOREGROUND], { stdio: "inherit" });
  // Ctrl-C reaches nginx too (same process group); a kill of this process is passed on.
  let stopping = false;
  const stop = () => {
    stopping = true;
    nginx.kill("SIGTERM");
    usageService?.kill("SIGTERM");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const code = await new Promise<number>((resolve) => {
    nginx.on("error", (err) => {
      console.error(`fleet gateway: cannot run nginx: ${err.message} (install nginx and libnginx-mod-http-js: scripts/ensure-system-deps.sh)`);
      resolve(1);
    });
    nginx.on("exit", (c, signal) => resolve(c ?? (signal ? 0 : 1)));
  });
  if (usageService && usageService.exitCode === null) {
    usageService.kill("SIGTERM");
    await new Promise((resolve) => usageService.once("exit", resolve));
  }
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  if (typeof values.out !== "string") fs.rmSync(outDir, { recursive: true, force: true });
  removeSocketDir();
  return stopping ? 0 : code;
}
