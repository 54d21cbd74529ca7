/**
 * Every engine flag and environment variable we render exists in the engines' real lists
 * (reference/): vllm-serve-args.json, llama-server-args.json, ollama.json. Values with
 * fixed choices are checked too. Ray's `ray start` options are checked against the documented list.
 */
import { describe, expect, it } from "vitest";
import { IMAGES } from "../../infra/render";
import {
  artifactsNamed,
  composeServices,
  networkEnvVariables,
  nodesOf,
  reference,
  renderedFleets,
  secretEnvVariables,
  type ComposeService,
} from "./support";

/** The parts of the reference files these checks read. */
interface VllmReference {
  flags: { flag: string; aliases?: string[]; negation?: string; takes_value: boolean | "optional"; nargs?: string; choices?: string[] }[];
  accepted_values: { kv_cache_dtype: { values: string[] }; quantization: { values: string[] } };
  environment_variables: { variables: { name: string }[] };
  comparison_with_v0_16_0: { flags_added_after_v0_16_0: string[] };
}
interface LlamaReference {
  flags: { flag: string; aliases?: string[]; negation?: string[]; takes_value: boolean; choices?: string[]; removed?: boolean; env: string | null; env_negative?: string }[];
  accepted_values: { cache_type_k_v: string[]; flash_attn: string[] };
  other_environment_variables: { name: string }[];
}
interface OllamaReference {
  modelfile: { instructions: { name: string }[]; parameters: { name: string; type: string }[]; deprecated_parameters_ignored_with_warning: string[] };
  environment_variables: { variables: { name: string }[] };
}

const vllmRef = reference<VllmReference>("vllm-serve-args.json");
const llamaRef = reference<LlamaReference>("llama-server-args.json");
const ollamaRef = reference<OllamaReference>("ollama.json");

interface FlagSpec {
  takesValue: boolean | "optional";
  multiple: boolean;
  choices?: string[];
}

function vllmFlags(): Map<string, FlagSpec> {
  const flags = new Map<string, FlagSpec>();
  for (const f of vllmRef.flags) {
    const spec: FlagSpec = { takesValue: f.takes_value, multiple: f.nargs === "+", choices: f.choices };
    for (const name of [f.flag, ...(f.aliases ?? []), ...(f.negation ? [f.negation] : [])]) flags.set(name, spec);
  }
  return flags;
}

function llamaFlags(): Map<string, FlagSpec> {
  const flags = new Map<string, FlagSpec>();
  for (const f of llamaRef.flags) {
    if (f.removed) continue; // still parsed, but startup fails
    const spec: FlagSpec = { takesValue: f.takes_value, multiple: false, choices: f.choices };
    for (const name of [f.flag, ...(f.aliases ?? [])]) flags.set(name, spec);
    for (const name of f.negation ?? []) flags.set(name, { takesValue: false, multiple: false });
  }
  return flags;
}

/** Walks an argument list the way the engine's parser does; returns flag → values. */
function parseArgs(args: string[], flags: Map<string, FlagSpec>, positional: number): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  let i = positional;
  while (i < args.length) {
    const token = args[i]!;
    const spec = flags.get(token);
    if (!spec) throw new Error(`unknown option ${token} in ${args.join(" ")}`);
    const values: string[] = [];
    i++;
    if (spec.takesValue === true) {
      do values.push(args[i++]!);
      while (spec.multiple && i < args.length && !args[i]!.startsWith("-"));
    } else if (spec.takesValue === "optional" && i < args.length && !args[i]!.startsWith("-")) {
      values.push(args[i++]!);
    }
    if (spec.takesValue === true && values.some((v) => v === undefined)) throw new Error(`${token} lacks its value`);
    if (spec.choices) for (const v of values) expect(spec.choices, `${token} ${v}`).toContain(v);
    if (seen.has(token)) throw new Error(`${token} given twice`);
    seen.set(token, values);
  }
  return seen;
}

const vllmEnvNames = new Set(vllmRef.environment_variables.variables.map((v) => v.name));
const llamaEnvNames = new Set([
  ...llamaRef.flags.flatMap((f) => [f.env, f.env_negative].filter((e): e is string => typeof e === "string")),
  ...llamaRef.other_environment_variables.flatMap((v) => v.name.split(" / ")),
]);
const ollamaEnvNames = new Set(ollamaRef.environment_variables.variables.flatMap((v) => v.name.split(" / ")));

/**
 * Variables read by something other than the engine's own code, each with its reader:
 * CUDA_DEVICE_ORDER (CUDA runtime: GPU numbering), NCCL_SOCKET_IFNAME (NCCL), GLOO_SOCKET_IFNAME
 * (PyTorch Gloo), HF_TOKEN (huggingface_hub, inside vLLM), DO_NOT_TRACK (vllm-serve-args.json:
 * VLLM_DO_NOT_TRACK "DO_NOT_TRACK also honoured"), RAY_HEAD_IP (our ray/*.worker.sh).
 */
const LIBRARY_ENV = new Set(["CUDA_DEVICE_ORDER", "CUDA_VISIBLE_DEVICES", "NCCL_SOCKET_IFNAME", "GLOO_SOCKET_IFNAME", "HF_TOKEN", "DO_NOT_TRACK", "RAY_HEAD_IP"]);

/** `ray start` options we may use (docs.ray.io/en/latest/cluster/cli.html#ray-start). */
const RAY_START_OPTIONS = new Set([
  "--head", "--address", "--port", "--node-ip-address", "--num-gpus", "--block", "--include-dashboard", "--disable-usage-stats",
  "--ray-client-server-port", "--object-manager-port", "--node-manager-port", "--dashboard-agent-grpc-port",
  "--dashboard-agent-listen-port", "--metrics-export-port", "--runtime-env-agent-port", "--min-worker-port", "--max-worker-port",
]);

/** All variable names a service's process sees: compose environment, secret env file, boot env file. */
function envOf(service: string, s: ComposeService, startScript: string): string[] {
  const secret = secretEnvVariables(startScript).get(`run/${service}.secrets.env`) ?? [];
  const boot = (s.env_file ?? []).includes("./run/network.env") ? networkEnvVariables(startScript) : [];
  return [...Object.keys(s.environment), ...secret, ...boot];
}

const fleets = renderedFleets();

describe.each(fleets)("$name", ({ artifacts }) => {
  for (const node of nodesOf(artifacts)) {
    const services = composeServices(artifacts, node);
    const start = artifacts[`${node}/bin/start.sh`]?.contents ?? "";
    for (const [name, s] of Object.entries(services)) {
      if (s.image === IMAGES.vllm && s.command) {
        it(`${node}/${name}: every vllm serve option and value is in vllm-serve-args.json`, () => {
          expect(s.command![0]).not.toMatch(/^-/); // the model is the positional model_tag
          const parsed = parseArgs(s.command!, vllmFlags(), 1);
          expect(vllmRef.accepted_values.kv_cache_dtype.values).toContain(parsed.get("--kv-cache-dtype")![0]);
          const q = parsed.get("--quantization");
          if (q) expect(vllmRef.accepted_values.quantization.values).toContain(q[0]);
          const backend = parsed.get("--distributed-executor-backend");
          if (backend) expect(backend).toEqual(["ray"]);
          // Not newer than the v0.16.0 release either: any image from v0.16 to the pinned tag accepts it.
          for (const flag of parsed.keys()) expect(vllmRef.comparison_with_v0_16_0.flags_added_after_v0_16_0).not.toContain(flag);
          // Keys never on the command line: vLLM reads VLLM_API_KEY from the env file.
          expect(parsed.has("--api-key")).toBe(false);
          expect(parsed.has("--hf-token")).toBe(false);
        });
      }
      if (s.image === IMAGES.vllm) {
        it(`${node}/${name}: every environment variable is vLLM's or a named library's`, () => {
          for (const v of envOf(name, s, start)) expect(vllmEnvNames.has(v) || LIBRARY_ENV.has(v), v).toBe(true);
        });
      }
      if (s.image === IMAGES.llamacppCuda || s.image === IMAGES.llamacppCpu) {
        it(`${node}/${name}: every llama-server option and value is in llama-server-args.json`, () => {
          const parsed = parseArgs(s.command!, llamaFlags(), 0);
          expect(llamaRef.accepted_values.cache_type_k_v).toContain(parsed.get("--cache-type-k")![0]);
          expect(llamaRef.accepted_values.flash_attn).toContain(parsed.get("--flash-attn")![0]);
          for (const flag of ["--api-key", "--hf-token", "-hft"]) expect(parsed.has(flag)).toBe(false);
          for (const v of envOf(name, s, start)) expect(llamaEnvNames.has(v) || v === "CUDA_DEVICE_ORDER" || v === "CUDA_VISIBLE_DEVICES", v).toBe(true);
        });
      }
      if (s.image === IMAGES.ollama) {
        it(`${node}/${name}: every OLLAMA_* variable is in ollama.json; serve takes no flags`, () => {
          // The container runs ollama/serve.sh, which starts the server with no arguments.
          expect(s.entrypoint).toEqual(["/bin/sh", "/etc/llm-fleet/ollama/serve.sh"]);
          expect(s.command).toBeUndefined();
          expect(artifacts[`${node}/ollama/serve.sh`]!.contents).toMatch(/^\/bin\/ollama serve &$/m);
          for (const v of envOf(name, s, start)) expect(ollamaEnvNames.has(v) || v === "CUDA_DEVICE_ORDER", v).toBe(true);
        });
      }
    }
  }

  const modelfiles = artifactsNamed(artifacts, /\.Modelfile$/);
  it.runIf(modelfiles.length > 0).each(modelfiles)("%s uses only Modelfile instructions and PARAMETERs from ollama.json", (_f, contents) => {
    const instructions = new Set(ollamaRef.modelfile.instructions.map((i) => i.name));
    const parameters = new Map(ollamaRef.modelfile.parameters.map((p) => [p.name, p.type]));
    const lines = contents.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
    expect(lines[0]).toMatch(/^FROM \S+$/);
    for (const line of lines) {
      const [keyword, name, value] = line.split(" ");
      expect([...instructions], line).toContain(keyword);
      if (keyword !== "PARAMETER") continue;
      expect(ollamaRef.modelfile.deprecated_parameters_ignored_with_warning).not.toContain(name);
      const type = parameters.get(name!);
      expect(type, `unknown PARAMETER ${name}`).toBeDefined();
      if (type === "int") expect(value).toMatch(/^-?\d+$/);
      if (type === "float") expect(Number.isFinite(Number(value))).toBe(true);
    }
  });

  const rayScripts = artifactsNamed(artifacts, /\/ray\/.*\.sh$/);
  it.runIf(rayScripts.length > 0).each(rayScripts)("%s passes only documented `ray start` options", (_f, contents) => {
    const line = contents.split("\n").find((l) => /^(exec )?ray start /.test(l))!;
    expect(line).toBeDefined();
    for (const option of line.match(/--[a-z-]+/g)!) expect(RAY_START_OPTIONS, option).toContain(option);
  });
});

describe("the flag walk itself", () => {
  it("rejects an option vLLM does not define, and a value outside a choice list", () => {
    expect(() => parseArgs(["m", "--swap-space", "4"], vllmFlags(), 1)).toThrow(/unknown option --swap-space/);
    expect(() => parseArgs(["m", "--kv-cache-dtype", "q8_0"], vllmFlags(), 1)).toThrow();
    expect(() => parseArgs(["--ctx-size=4096"], llamaFlags(), 0)).toThrow(/unknown option/);
  });
});
