import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ENGINES } from "../spec/schema";
import { REFERENCE_DIR } from "../../test/support/reference";
import {
  findGpu,
  findInstanceType,
  findModel,
  GGUF_FILES,
  GPU_NAMES,
  GPUS,
  INSTANCE_TYPE_NAMES,
  INSTANCE_TYPES,
  KV_CACHE_DTYPE_BYTES,
  KV_CACHE_DTYPES_BY_ENGINE,
  KV_CACHE_FLAG_VALUE,
  MODEL_IDS,
  MODELS,
  OLLAMA_TAGS,
  QUANTIZATION_IDS,
  QUANTIZATIONS,
  type GpuId,
  type ModelArch,
} from "./index";

/** The reference data the catalog is copied from (reference/): the tests read it so the two cannot drift. */
function readReference<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(REFERENCE_DIR, file), "utf8")) as T;
}

interface RefModel {
  id: string;
  num_hidden_layers: number | null;
  hidden_size: number | null;
  intermediate_size: number | null;
  num_attention_heads: number | null;
  num_key_value_heads: number | null;
  head_dim: number | null;
  vocab_size: number | null;
  max_position_embeddings: number | null;
  tie_word_embeddings: boolean | null;
  total_params: string | null;
  moe?: { num_local_experts?: number; num_experts?: number; num_experts_per_tok: number; moe_intermediate_size?: number };
  derived: { kv_bytes_per_token_16bit: number } | null;
  base_model_text_config_reference?: Record<string, number | string>;
}
interface RefGguf { repo: string; file: string; quant: string; size_gb: number }
const modelConfigs = readReference<{ models: RefModel[]; gguf_files: RefGguf[] }>("model-configs.json");

interface RefInstance { instanceType: string; gpuModel: string; gpuCount: number; vcpu: number; memoryGiB: number; onDemandUSDPerHour: number }
const awsInstances = readReference<{ families: Record<string, { instances: RefInstance[] }> }>("aws-instances.json");

/** Parameters implied by a shape: embeddings + lm_head + per layer (q/k/v/o, gated MLP or experts, 2 norms) + final norm. */
function paramCount(arch: ModelArch, { activeOnly = false } = {}): number {
  const h = arch.hiddenSize;
  const embeddings = arch.vocabSize * h * (arch.tieWordEmbeddings ? 1 : 2);
  const attention = 2 * h * arch.numAttentionHeads * arch.headDim + 2 * h * arch.numKeyValueHeads * arch.headDim;
  const mlp = arch.moe
    ? (activeOnly ? arch.moe.expertsPerToken : arch.moe.numExperts) * 3 * h * arch.moe.expertIntermediateSize + h * arch.moe.numExperts
    : 3 * h * arch.intermediateSize;
  return embeddings + arch.numLayers * (attention + mlp + 2 * h) + h;
}

/** "32.8B" → 32.8e9 and the half-unit of its last digit (a stated "7B" means 6.5B–7.5B). */
function parseStated(text: string): { value: number; roundingHalfUnit: number } {
  const m = /^(\d+)(?:\.(\d+))?([BM])/.exec(text);
  if (!m) throw new Error(`cannot parse total_params ${text}`);
  const exponent = m[3] === "B" ? 9 : 6;
  const decimals = m[2]?.length ?? 0;
  return { value: Number(`${m[1]}.${m[2] ?? "0"}e${exponent}`), roundingHalfUnit: Number(`5e${exponent - 1 - decimals}`) };
}

describe("GPUS", () => {
  it("keys every GPU by its own id, with positive memory and bandwidth", () => {
    for (const [key, gpu] of Object.entries(GPUS)) {
      expect(gpu.id).toBe(key);
      expect(gpu.memoryMiB).toBeGreaterThan(0);
      expect(gpu.bandwidthGBs).toBeGreaterThan(0);
      expect(gpu.memorySource).not.toBe("");
      expect(gpu.sources.length).toBeGreaterThan(0);
    }
  });

  it("reports less memory than the marketed size, never more", () => {
    const marketedGB: Record<GpuId, number> = {
      "H100-SXM": 80, "A100-40GB": 40, "A100-80GB": 80, "A100-80GB-PCIe": 80, L40S: 48, A10G: 24, L4: 24, T4: 16,
      "RTX-3090": 24, "RTX-4090": 24, "RTX-5070-Ti": 16, "RTX-5090": 32,
    };
    for (const gpu of Object.values(GPUS)) {
      expect(gpu.memoryMiB).toBeLessThanOrEqual(marketedGB[gpu.id] * 1024);
      expect(gpu.memoryMiB).toBeGreaterThan(marketedGB[gpu.id] * 1024 * 0.9);
    }
  });

  it("gives each GPU the total CUDA reports (what vLLM's utilization multiplies), below nvidia-smi's, with its source", () => {
    for (const gpu of Object.values(GPUS)) {
      // A100-40GB: its memoryMiB is itself deviceQuery's CUDA total (40441 MiB, rounded down): the only figure found.
      expect(gpu.cudaTotalBytes, gpu.id).toBeLessThan((gpu.memoryMiB + (gpu.id === "A100-40GB" ? 1 : 0)) * 1024 ** 2);
      expect(gpu.cudaTotalBytes, gpu.id).toBeGreaterThan((gpu.memoryMiB - 1024) * 1024 ** 2);
      expect(gpu.cudaTotalSource).toMatch(/^(measured|derived|CUDA deviceQuery|torch|vLLM)/);
    }
    // reference/gpu-measured.md: 81,559 MiB in nvidia-smi, 85,017,493,504 bytes (79.18 GiB) for torch.
    expect(GPUS["H100-SXM"].memoryMiB).toBe(81559);
    expect(GPUS["H100-SXM"].cudaTotalBytes).toBe(85017493504);
  });

  it("marks FP8 hardware on Ada, Hopper and Blackwell only", () => {
    const fp8 = Object.values(GPUS).filter((g) => g.fp8).map((g) => g.id).sort();
    expect(fp8).toEqual(["H100-SXM", "L4", "L40S", "RTX-4090", "RTX-5070-Ti", "RTX-5090"]);
  });

  it("marks NVLink only on the SXM boards (NVSwitch in p4d, p4de, p5); the PCIe A100 is its own GPU", () => {
    const nvlink = Object.values(GPUS).filter((g) => g.nvlink).map((g) => g.id).sort();
    expect(nvlink).toEqual(["A100-40GB", "A100-80GB", "H100-SXM"]);
    expect(findGpu("NVIDIA A100 80GB PCIe")?.id).toBe("A100-80GB-PCIe");
    // Its CUDA total is read off two vLLM runs of one server (gpus.ts); the same 80 GB of HBM2e on the SXM board has an
    // independent figure (torch's "total capacity of 79.25 GiB" on an A800): the derivation lands within 0.01 GiB of it.
    expect(Math.abs(GPUS["A100-80GB-PCIe"].cudaTotalBytes - GPUS["A100-80GB"].cudaTotalBytes) / 1024 ** 3).toBeLessThan(0.01);
    expect(findGpu("A100-SXM4-80GB")?.id).toBe("A100-80GB");
  });

  it("finds GPUs by id, name or alias regardless of case, spaces and dashes", () => {
    expect(findGpu("rtx 5070 ti")?.id).toBe("RTX-5070-Ti");
    expect(findGpu("RTX-5070-Ti")?.id).toBe("RTX-5070-Ti");
    expect(findGpu("  geforce rtx 5070 ti ")?.id).toBe("RTX-5070-Ti");
    expect(findGpu("NVIDIA L40S")?.id).toBe("L40S");
    expect(findGpu("h100")?.id).toBe("H100-SXM");
    expect(findGpu("a100 80gb")?.id).toBe("A100-80GB");
  });

  it("does not guess: unknown and ambiguous names are undefined", () => {
    expect(findGpu("RTX 9999")).toBeUndefined();
    expect(findGpu("A100")).toBeUndefined(); // 40GB or 80GB
    expect(findGpu("")).toBeUndefined();
  });

  it("gives no two GPUs a name that normalizes the same", () => {
    const owner = new Map<string, GpuId>();
    for (const gpu of Object.values(GPUS)) {
      for (const name of new Set([gpu.id, gpu.name, ...gpu.aliases].map((n) => n.toLowerCase().replace(/[\s_-]+/g, "")))) {
        expect(owner.get(name) ?? gpu.id, `${name} names ${owner.get(name)} and ${gpu.id}`).toBe(gpu.id);
        owner.set(name, gpu.id);
      }
    }
  });

  it("lists one accepted name per GPU, each of which resolves to it", () => {
    expect(GPU_NAMES).toHaveLength(Object.keys(GPUS).length);
    expect(GPU_NAMES.map((n) => findGpu(n)?.id).sort()).toEqual(Object.keys(GPUS).sort());
  });
});

describe("INSTANCE_TYPES", () => {
  const reference = ["g5", "g6", "g6e", "p4d", "p4de", "p5"].flatMap((family) =>
    (awsInstances.families[family]?.instances ?? []).map((i) => ({ family, ...i })),
  );

  it("has every g5/g6/g6e/p4d/p4de/p5 size of the reference with the same numbers", () => {
    expect(reference.length).toBeGreaterThan(0);
    expect(INSTANCE_TYPE_NAMES.slice().sort()).toEqual(reference.map((i) => i.instanceType).sort());
    for (const ref of reference) {
      expect(INSTANCE_TYPES[ref.instanceType]).toMatchObject({
        family: ref.family,
        gpu: ref.gpuModel,
        gpuCount: ref.gpuCount,
        vcpu: ref.vcpu,
        memoryGiB: ref.memoryGiB,
        onDemandUSDPerHour: ref.onDemandUSDPerHour,
      });
    }
  });

  it("uses only GPUs the catalog knows", () => {
    for (const t of Object.values(INSTANCE_TYPES)) {
      expect(GPUS[t.gpu], `${t.instanceType} → ${t.gpu}`).toBeDefined();
      expect(t.instanceType.startsWith(`${t.family}.`)).toBe(true);
      expect(t.priceSource).toMatch(/^karpenter-pricing \d{4}-\d{2}-\d{2}$/);
    }
  });

  it("prices g6e.xlarge as one L40S at 1.861 USD/h", () => {
    expect(findInstanceType("g6e.xlarge")).toMatchObject({ gpu: "L40S", gpuCount: 1, onDemandUSDPerHour: 1.861 });
    expect(findInstanceType(" G6E.XLARGE ")?.instanceType).toBe("g6e.xlarge");
    expect(findInstanceType("g6e.huge")).toBeUndefined();
  });
});

describe("MODELS", () => {
  it("has every model of reference/model-configs.json, keyed by its id", () => {
    expect(MODEL_IDS.slice().sort()).toEqual(modelConfigs.models.map((m) => m.id).sort());
    for (const [key, model] of Object.entries(MODELS)) expect(model.id).toBe(key);
    expect(findModel("qwen/qwen3-32b")?.id).toBe("Qwen/Qwen3-32B");
    expect(findModel("Qwen/Qwen3-33B")).toBeUndefined();
  });

  const known = modelConfigs.models.filter((m) => m.num_hidden_layers !== null);
  it.each(known.map((m) => [m.id, m] as const))("%s matches its reference config", (id, ref) => {
    const arch = MODELS[id]?.arch;
    expect(arch).toBeDefined();
    if (!arch) return;
    expect(arch.numLayers).toBe(ref.num_hidden_layers);
    expect(arch.numAttentionHeads).toBe(ref.num_attention_heads);
    expect(arch.numKeyValueHeads).toBe(ref.num_key_value_heads);
    expect(arch.hiddenSize).toBe(ref.hidden_size);
    expect(arch.vocabSize).toBe(ref.vocab_size);
    expect(arch.maxPositionEmbeddings).toBe(ref.max_position_embeddings);
    expect(arch.tieWordEmbeddings).toBe(ref.tie_word_embeddings);
    expect(arch.headDim).toBe(ref.head_dim ?? (ref.hidden_size ?? 0) / (ref.num_attention_heads ?? 1));
    if (ref.intermediate_size !== null) expect(arch.intermediateSize).toBe(ref.intermediate_size);
    if (ref.derived) {
      const kvBytesPerToken = 2 * arch.numLayers * arch.numKeyValueHeads * arch.headDim * KV_CACHE_DTYPE_BYTES.fp16;
      expect(kvBytesPerToken).toBe(ref.derived.kv_bytes_per_token_16bit);
    }
    if (ref.moe) {
      expect(arch.moe).toEqual({
        numExperts: ref.moe.num_local_experts ?? ref.moe.num_experts,
        expertsPerToken: ref.moe.num_experts_per_tok,
        expertIntermediateSize: ref.moe.moe_intermediate_size ?? ref.intermediate_size,
      });
    } else {
      expect(arch.moe).toBeUndefined();
    }
    const stated = MODELS[id]?.statedParams;
    expect(stated).toBe(ref.total_params === null ? undefined : parseStated(ref.total_params).value);
  });

  it("gives the models without a config.json the shape the reference points to, and says so", () => {
    expect(MODELS["Qwen/Qwen3-32B-AWQ"]?.arch).toEqual(MODELS["Qwen/Qwen3-32B"]?.arch);
    expect(MODELS["Snowflake/Arctic-Text2SQL-R1-7B"]?.arch).toEqual(MODELS["Qwen/Qwen2.5-7B-Instruct"]?.arch);
    const devstral = modelConfigs.models.find((m) => m.id === "mistralai/Devstral-Small-2507")?.base_model_text_config_reference;
    expect(MODELS["mistralai/Devstral-Small-2507"]?.arch).toMatchObject({
      numLayers: devstral?.num_hidden_layers,
      hiddenSize: devstral?.hidden_size,
      intermediateSize: devstral?.intermediate_size,
      numAttentionHeads: devstral?.num_attention_heads,
      numKeyValueHeads: devstral?.num_key_value_heads,
      headDim: devstral?.head_dim,
      vocabSize: devstral?.vocab_size,
      maxPositionEmbeddings: devstral?.max_position_embeddings,
    });
    for (const ref of modelConfigs.models.filter((m) => m.num_hidden_layers === null)) {
      expect(MODELS[ref.id]?.notes?.some((n) => n.includes("NOT VERIFIED")), ref.id).toBe(true);
    }
  });

  it.each([
    ["Qwen/Qwen3-32B", 32.8e9],
    ["Qwen/Qwen2.5-7B-Instruct", 7.61e9],
    ["meta-llama/Llama-3.1-8B-Instruct", 8e9],
  ] as const)("derives %s's parameter count within 3%% of the stated %d", (id, stated) => {
    const model = MODELS[id];
    expect(model?.statedParams).toBe(stated);
    if (model) expect(Math.abs(paramCount(model.arch) / stated - 1)).toBeLessThan(0.03);
  });

  // CodeGen's MLP has two matrices, not the gated three this count assumes (noted in its entry).
  const gatedDense = Object.values(MODELS).filter((m) => !m.arch.moe && m.id !== "Salesforce/codegen-350M-mono");
  it.each(gatedDense.filter((m) => m.statedParams !== undefined).map((m) => m.id))(
    "derives %s's parameters within 3%% or the rounding of the stated figure",
    (id) => {
      const arch = MODELS[id]?.arch;
      const text = modelConfigs.models.find((m) => m.id === id)?.total_params;
      const { value, roundingHalfUnit } = parseStated(text ?? "");
      expect(arch).toBeDefined();
      if (arch) expect(Math.abs(paramCount(arch) - value)).toBeLessThanOrEqual(Math.max(0.03 * value, roundingHalfUnit));
    },
  );

  it("counts Qwen3-30B-A3B as about 30B total and 3B active (its name)", () => {
    const arch = MODELS["Qwen/Qwen3-30B-A3B"]?.arch;
    expect(arch).toBeDefined();
    if (!arch) return;
    expect(Math.abs(paramCount(arch) - 30e9)).toBeLessThanOrEqual(0.5e9 * 2);
    expect(Math.abs(paramCount(arch, { activeOnly: true }) - 3e9)).toBeLessThanOrEqual(0.5e9);
  });
});

describe("GGUF_FILES and OLLAMA_TAGS", () => {
  it("has every GGUF file of the reference at its published size", () => {
    expect(Object.keys(GGUF_FILES).sort()).toEqual(modelConfigs.gguf_files.map((f) => `${f.repo}/${f.file}`).sort());
    for (const ref of modelConfigs.gguf_files) {
      const file = GGUF_FILES[`${ref.repo}/${ref.file}`];
      expect(file?.quant).toBe(ref.quant);
      expect(file?.sizeBytes).toBeCloseTo(ref.size_gb * 1e9, -3);
    }
  });

  it("points every GGUF file and Ollama tag at a catalogued model", () => {
    for (const f of Object.values(GGUF_FILES)) expect(MODELS[f.baseModel], f.file).toBeDefined();
    for (const [tag, t] of Object.entries(OLLAMA_TAGS)) expect(MODELS[t.baseModel], tag).toBeDefined();
    expect(OLLAMA_TAGS["deepseek-coder:33b"]).toMatchObject({ baseModel: "deepseek-ai/deepseek-coder-33b-instruct", quant: "Q4_0" });
  });

  it.each([
    "TheBloke/CodeLlama-7B-Instruct-GGUF/codellama-7b-instruct.Q4_K_M.gguf",
    "TheBloke/deepseek-coder-33B-instruct-GGUF/deepseek-coder-33b-instruct.Q4_K_M.gguf",
    "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf",
  ])("estimates %s from the Q4_K_M rate within 2%% (never more than 1%% short)", (key) => {
    const file = GGUF_FILES[key];
    const arch = file ? MODELS[file.baseModel]?.arch : undefined;
    expect(arch).toBeDefined();
    if (!file || !arch) return;
    const estimate = (paramCount(arch) * QUANTIZATIONS.Q4_K_M.linearBitsPerWeight) / 8;
    expect(estimate / file.sizeBytes).toBeGreaterThan(0.99);
    expect(estimate / file.sizeBytes).toBeLessThan(1.02);
  });
});

describe("QUANTIZATIONS and KV cache types", () => {
  const vllmArgs = readReference<{ accepted_values: Record<string, { values: string[] }> }>("vllm-serve-args.json");
  const llamaArgs = readReference<{ accepted_values: { cache_type_k_v: string[] } }>("llama-server-args.json");

  it("describes every quantization id under its own key", () => {
    expect(Object.keys(QUANTIZATIONS).sort()).toEqual([...QUANTIZATION_IDS].sort());
    for (const [key, q] of Object.entries(QUANTIZATIONS)) {
      expect(q.id).toBe(key);
      expect(q.linearBitsPerWeight).toBeGreaterThan(0);
      expect(q.linearBitsPerWeight).toBeLessThanOrEqual(q.embeddingBitsPerWeight);
      if (q.vllmQuantization !== null) expect(vllmArgs.accepted_values.quantization?.values).toContain(q.vllmQuantization);
    }
    expect(QUANTIZATIONS.awq.linearBitsPerWeight).toBe(4.15625);
  });

  it("names one KV type list and one flag table per served engine", () => {
    const served = ENGINES.filter((e) => e !== "external").sort();
    expect(Object.keys(KV_CACHE_DTYPES_BY_ENGINE).sort()).toEqual(served);
    expect(Object.keys(KV_CACHE_FLAG_VALUE).sort()).toEqual(served);
  });

  it("spells every accepted KV type the way the engine accepts it", () => {
    const accepted = {
      vllm: vllmArgs.accepted_values.kv_cache_dtype?.values ?? [],
      llamacpp: llamaArgs.accepted_values.cache_type_k_v,
      ollama: llamaArgs.accepted_values.cache_type_k_v, // Ollama passes OLLAMA_KV_CACHE_TYPE to llama-server as is
    };
    for (const engine of ["vllm", "llamacpp", "ollama"] as const) {
      const flags: Readonly<Record<string, string | null | undefined>> = KV_CACHE_FLAG_VALUE[engine];
      expect(Object.keys(flags).sort()).toEqual([...KV_CACHE_DTYPES_BY_ENGINE[engine]].sort());
      for (const value of Object.values(flags)) if (value !== null) expect(accepted[engine]).toContain(value);
    }
  });

  it("sizes q8_0 KV as llama-server allocates it (2.12 MiB where f16 is 4.00 MiB)", () => {
    const tinyElements = 4096 * 4 * 2 * 2 * 32; // ctx × layers × (K,V) × KV heads × head dim (llama-server-observed.md)
    expect((tinyElements * KV_CACHE_DTYPE_BYTES.fp16) / 2 ** 20).toBe(4);
    expect((tinyElements * KV_CACHE_DTYPE_BYTES.q8_0) / 2 ** 20).toBe(2.125); // printed "%.2f" as 2.12
  });
});
