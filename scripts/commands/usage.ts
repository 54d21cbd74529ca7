/**
 * `fleet usage --stack NAME | --spec FILE [--key NAME] [--url URL] [--ca FILE]`: each key's usage
 * and remaining quota for the current UTC day and month, from the gateway's GET /v1/usage. Reads
 * with the key named by --key (its own row) or the spec's first admin key (every key), its value
 * from LLM_FLEET_KEY_<NAME>; never prints a key. The URL comes from the stack's gatewayUrl output
 * unless --url is given; --ca trusts the gateway's self-signed certificate.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as http from "node:http";
import { keyEnvName } from "../../infra/render/gateway";
import { SPEC_OPTIONS, UsageError, specFromValues, stringValue, type Command } from "../args";
import { readStackOutputs } from "./registry";

const USAGE = "usage: fleet usage --stack NAME | --spec FILE.yaml [--key NAME] [--url URL] [--ca FILE.pem]";

interface WindowUsage {
  window: string;
  requests: number;
  total_tokens: number;
  requests_without_usage: number;
  remaining: { requests: number | null; tokens: number | null };
}
interface KeyUsage {
  key: string;
  day: WindowUsage;
  month: WindowUsage;
}

function get(url: string, key: string, ca: string | undefined): Promise<{ status: number; body: string }> {
  const lib = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { headers: { Authorization: `Bearer ${key}` }, ...(ca ? { ca } : {}), timeout: 15_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 15 s")));
    req.on("error", reject);
  });
}

const n = (v: number) => v.toLocaleString("en-US");
const left = (v: number | null) => (v === null ? "-" : n(v));

export function formatUsage(rows: KeyUsage[]): string {
  const header = ["KEY", "DAY", "REQUESTS", "TOKENS", "LEFT REQ", "LEFT TOK", "MONTH", "REQUESTS", "TOKENS", "LEFT REQ", "LEFT TOK", "NO USAGE"];
  const cells = rows.map((r) => [
    r.key, r.day.window, n(r.day.requests), n(r.day.total_tokens), left(r.day.remaining.requests), left(r.day.remaining.tokens),
    r.month.window, n(r.month.requests), n(r.month.total_tokens), left(r.month.remaining.requests), left(r.month.remaining.tokens), n(r.month.requests_without_usage),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((c) => c.map((x, i) => x.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export const command: Command = {
  usage: `${USAGE}
  --key NAME   read with this key (its own row); default: the first key with admin: true (every key)
  --url URL    the gateway's URL; default: the stack's gatewayUrl output (with --stack)
  --ca FILE    trust this certificate (the gateway's self-signed one)`,
  options: { ...SPEC_OPTIONS, key: { type: "string" }, url: { type: "string" }, ca: { type: "string" } },
  run: ({ values }) => run(values),
};

async function run(values: Record<string, string | boolean | undefined>): Promise<number> {
  const { spec, label } = specFromValues(values);
  const gateway = spec.gateway;
  if (gateway?.metering !== true) {
    console.error(`fleet usage: ${label} has no usage metering (set gateway.metering: true)`);
    return 1;
  }
  const wanted = stringValue(values.key);
  const keyName = wanted ?? Object.entries(gateway.keys).find(([, k]) => k.admin)?.[0];
  if (!keyName || !gateway.keys[keyName]) {
    throw new UsageError(`${wanted ? `no key "${wanted}" in gateway.keys` : "no key has admin: true"}; name one with --key NAME (it shows that key's own usage)`);
  }
  const key = process.env[keyEnvName(keyName)];
  if (!key) {
    console.error(`fleet usage: set ${keyEnvName(keyName)} (the key clients send for gateway key "${keyName}")`);
    return 1;
  }
  let base = stringValue(values.url);
  if (!base) {
    if (typeof values.stack !== "string") throw new UsageError("give --url with --spec (or --stack NAME to read its gatewayUrl output)");
    const outputs = (await readStackOutputs(values.stack)) as { gatewayUrl?: string };
    if (!outputs.gatewayUrl) {
      console.error(`fleet usage: stack ${values.stack} has no gatewayUrl output (not deployed yet?)`);
      return 1;
    }
    base = outputs.gatewayUrl;
  }
  const admin = gateway.keys[keyName]!.admin;
  const url = `${base.replace(/\/+$/, "")}/v1/usage${admin ? "?key=*" : ""}`;
  const caFile = stringValue(values.ca);
  const ca = caFile ? fs.readFileSync(caFile, "utf8") : undefined;
  let res;
  try {
    res = await get(url, key, ca);
  } catch (err) {
    console.error(`fleet usage: GET ${url}: ${(err as Error).message}`);
    return 1;
  }
  if (res.status !== 200) {
    console.error(`fleet usage: GET ${url} answered ${res.status}: ${res.body.trim().slice(0, 300)}`);
    return 1;
  }
  const body = JSON.parse(res.body) as { data?: KeyUsage[] } & KeyUsage;
  console.log(formatUsage(body.data ?? [body]));
  return 0;
}
