/**
 * Shared by the render tests: every example (and the dev stack) planned and rendered, the
 * reference flag lists, and small readers for what the artifacts contain.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { planFleet, type FleetPlan } from "../../infra/plan";
import { loadSpecFile, loadStackSpec } from "../../infra/spec/load";
import { renderFleet, type Artifacts } from "../../infra/render";
import { GATEWAY, fleet, sshGpuNode } from "../support/specs";

export const REPO = path.resolve(__dirname, "../..");
import { REFERENCE_DIR } from "../support/reference";

export { REFERENCE_DIR };

export function reference<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, file), "utf8")) as T;
}

export interface RenderedFleet {
  name: string;
  plan: FleetPlan;
  artifacts: Artifacts;
}

/**
 * What the examples do not show: tensor parallelism on GPUs picked out of order, llama.cpp split
 * over two GPUs, two Ollama models sharing one server on a Docker host, every sampling field.
 */
export function workstationPlan(): FleetPlan {
  const spec = fleet(
    [
      sshGpuNode("ws", ["RTX 3090", "RTX 4090", "RTX 3090", "RTX 4090"], { cores: 16, memoryGiB: 128, bandwidthGBs: 80 }),
      { name: "box", provider: "docker", host: "ssh://ops@box.lan", gpus: ["RTX 4090", "RTX 3090"], cpu: { cores: 16, memoryGiB: 64, bandwidthGBs: 80 } },
    ],
    [
      { id: "qwen3-32b", engine: "vllm", source: { hf: "Qwen/Qwen3-32B-AWQ", revision: "main" }, quantization: "awq", contextLength: 8192, aliases: ["qwen3", "default"], replicas: [{ nodes: ["ws"], gpus: [3, 1] }] },
      { id: "llama-8b", engine: "vllm", source: { hf: "meta-llama/Llama-3.1-8B-Instruct" }, contextLength: 8192, kvCacheDtype: "fp8", replicas: [{ nodes: ["ws"], gpus: [2, 0] }] },
      {
        id: "coder", engine: "llamacpp", aliases: ["coder-33b"],
        source: { gguf: { repo: "TheBloke/deepseek-coder-33B-instruct-GGUF", file: "deepseek-coder-33b-instruct.Q4_K_M.gguf" } },
        arch: "deepseek-ai/deepseek-coder-33b-instruct", contextLength: 8192, concurrency: 2,
        sampling: { temperature: 0.2, topP: 0.9, topK: 40, minP: 0.05, repetitionPenalty: 1.1, presencePenalty: 0.1, frequencyPenalty: 0.2 },
        replicas: [{ nodes: ["box"] }],
      },
      {
        id: "tiny", engine: "ollama", source: { ollama: "tinyllama:1.1b" }, arch: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", contextLength: 2048, kvCacheDtype: "q8_0", concurrency: 2,
        sampling: { temperature: 0.5, topP: 0.9, topK: 40, minP: 0.05, repetitionPenalty: 1.1, presencePenalty: 0.1, frequencyPenalty: 0.2 },
        replicas: [{ nodes: ["box"], gpus: [1] }],
      },
      {
        id: "qwen-small", engine: "ollama", source: { ollama: "qwen2.5:7b" }, arch: "Qwen/Qwen2.5-7B-Instruct", contextLength: 4096, kvCacheDtype: "q8_0", concurrency: 2,
        systemPrompt: "Answer in one sentence. Prices are in $ (USD); don't use 'quotes'.",
        replicas: [{ nodes: ["box"], gpus: [1] }],
      },
    ],
    { hfTokenSecret: "hf-token", gateway: { ...GATEWAY, corsOrigins: ["https://app.example.com"] } },
  );
  return planFleet(spec);
}

/** Every example under examples/ plus the dev stack, rendered as `npm run plan` renders them, and the workstation fleet. */
export function renderedFleets(): RenderedFleet[] {
  const examples = fs
    .readdirSync(path.join(REPO, "examples"))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => ({ name: f.replace(/\.yaml$/, ""), plan: planFleet(loadSpecFile(path.join(REPO, "examples", f))) }));
  const dev = { name: "stack-dev", plan: planFleet(loadStackSpec("dev", REPO)) };
  return [...examples, dev, { name: "workstation", plan: workstationPlan() }].map((f) => ({ ...f, artifacts: renderFleet(f.plan, { stack: "dev" }) }));
}

export function artifactsNamed(artifacts: Artifacts, pattern: RegExp): [string, string][] {
  return Object.entries(artifacts)
    .filter(([p]) => pattern.test(p))
    .map(([p, a]) => [p, a.contents]);
}

/** Compose reads `$$` as a literal `$`. */
function unescapeInterpolation<T>(value: T): T {
  if (typeof value === "string") return value.replace(/\$\$/g, "$") as T;
  if (Array.isArray(value)) return value.map(unescapeInterpolation) as T;
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unescapeInterpolation(v)])) as T;
  return value;
}

export interface ComposeService {
  image: string;
  entrypoint: string[];
  command?: string[];
  environment: Record<string, string>;
  env_file?: string[];
  network_mode?: string;
  ports?: string[];
  volumes: string[];
  deploy?: { resources: { reservations: { devices: { device_ids: string[] }[] } } };
}

/** A node's compose.yaml as Docker Compose would read it (interpolation undone). */
export function composeServices(artifacts: Artifacts, node: string): Record<string, ComposeService> {
  const file = artifacts[`${node}/compose.yaml`];
  if (!file) return {};
  const doc = unescapeInterpolation(parseYaml(file.contents, { version: "1.1" }) as { services: Record<string, ComposeService> });
  return doc.services;
}

export function nodesOf(artifacts: Artifacts): string[] {
  return [...new Set(Object.keys(artifacts).map((p) => p.split("/")[0]!))].sort();
}

/** `vllm serve` argument lists of a node: plain engine containers and Ray heads alike. */
export function vllmLaunches(artifacts: Artifacts, node: string): { service: string; args: string[] }[] {
  return Object.entries(composeServices(artifacts, node))
    .filter(([, s]) => (s.entrypoint[0] === "vllm" && s.entrypoint[1] === "serve") || s.entrypoint.some((e) => e.endsWith(".head.sh")))
    .map(([service, s]) => ({ service, args: s.command ?? [] }));
}

/** The value following `flag` in an argument list. */
export function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Every shell script: script artifacts and the scripts cloud-init writes from user data. */
export function shellScripts(artifacts: Artifacts): { label: string; contents: string }[] {
  const scripts = artifactsNamed(artifacts, /\.sh$/).map(([label, contents]) => ({ label, contents }));
  for (const [label, contents] of artifactsNamed(artifacts, /user-data\.yaml$/)) {
    const doc = parseYaml(contents, { version: "1.1" }) as { write_files: { path: string; content: string }[] };
    for (const f of doc.write_files) {
      if (f.content.startsWith("#!")) scripts.push({ label: `${label}:${f.path}`, contents: f.content });
    }
  }
  return scripts;
}

/** What the bootstrap writes into run/<service>.secrets.env: by env file, each VAR and the secret it holds. */
export function secretEnvPairs(startScript: string): Map<string, { variable: string; secret: string }[]> {
  const files = new Map<string, { variable: string; secret: string }[]>();
  for (const line of startScript.split("\n")) {
    const m = /^write_secret_env (\S+) (.*)$/.exec(line);
    if (m) files.set(m[1]!, m[2]!.split(" ").map((pair) => ({ variable: pair.split("=")[0]!, secret: pair.split("=")[1]! })));
  }
  return files;
}

/** Env var names the bootstrap writes into run/<service>.secrets.env, by env file. */
export function secretEnvVariables(startScript: string): Map<string, string[]> {
  return new Map([...secretEnvPairs(startScript)].map(([file, pairs]) => [file, pairs.map((p) => p.variable)]));
}

/** Env var names the bootstrap writes into run/network.env. */
export function networkEnvVariables(startScript: string): string[] {
  return [...startScript.matchAll(/printf '([A-Z_]+)=%s\\n'/g)].map((m) => m[1]!);
}
