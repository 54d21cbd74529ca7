/** What a model's replicas share: its resolved architecture, format, KV type, weight sizes and engine version. */
import { findModel, GGUF_FILES, MODEL_IDS, OLLAMA_TAGS } from "../catalog/models";
import { UNSUPPORTED_MODELS } from "../catalog/models-recent";
import { QUANTIZATIONS, KV_CACHE_DTYPES_BY_ENGINE, vllmQuantizationFlag } from "../catalog/quantization";
import type { KvCacheDtype, ModelArch, Quantization } from "../catalog/types";
import { DEFAULT_VLLM_VERSION, findVllmVersion, VLLM_ACCOUNTING, vllmVersionRefusal, type VllmAccounting } from "../catalog/vllm-versions";
import type { ReplicaSpec, ServedModelSpec } from "../spec/schema";
import type { SpecIssue } from "../spec/errors";
import { weightBytes, type WeightBytes } from "./arch";
import type { ResolvedNode } from "./nodes";
import type { ReplicaPlan } from "./types";

export interface ResolvedModel {
  arch: ModelArch;
  /** Catalog key, or "inline". */
  archSource: string;
  catalogKey?: string;
  quantization: Quantization;
  kvCacheDtype: KvCacheDtype;
  weights: WeightBytes;
  /** vLLM: the version whose accounting applies (the pinned image's unless the spec names another). */
  accounting: VllmAccounting;
  /** vLLM: the --quantization value to render (null when the checkpoint declares its own method). */
  vllmQuantization: string | null;
}

/** A planned replica before the fleet gives it a port and a cost share. */
export type ReplicaDraft = Omit<ReplicaPlan, "endpoint" | "costPerHourUSD"> & { endpointNode: string };

/**
 * Memory a replica takes: per GPU and RAM per node. vLLM also says what its start check needs:
 * `startNeeds` (utilization × total) free after its own `startBytes − startNeeds` (CUDA context, communicators).
 */
export interface Claims {
  gpus: { node: string; index: number; bytes: number; startBytes?: number; startNeeds?: number }[];
  ramBytes: { node: string; bytes: number }[];
}

/** GPU memory and RAM left to a replica by the replicas placed before it in the fleet's fixed order. */
export interface Capacity {
  gpuBytes(node: string, index: number): number;
  ramBytes(node: string): number;
}

export interface ReplicaInput extends ResolvedModel {
  model: ServedModelSpec;
  /** Spec path of the replica, e.g. models[1].replicas[0]. */
  path: string;
  /** Spec path of its model, e.g. models[1]. */
  modelPath: string;
  replica: ReplicaSpec;
  index: number;
  nodes: ReadonlyMap<string, ResolvedNode>;
  /** What llama.cpp/Ollama replicas may still use (vLLM replicas are planned against whole GPUs). */
  capacity: Capacity;
  /** Index of a node in spec.nodes, for error paths. */
  nodeIndex: (name: string) => number;
  issues: SpecIssue[];
}

const GGUF_TYPE_IN_NAME = /[.-](Q8_0|Q6_K|Q5_K_M|Q4_K_M|Q4_0|Q3_K_M|Q2_K)\.gguf$/i;

/** The catalog model a source points at when `arch` is not given. */
function sourceCatalogKey(m: ServedModelSpec): string | undefined {
  const s = m.source;
  if ("hf" in s) return s.hf;
  if ("gguf" in s) return GGUF_FILES[`${s.gguf.repo}/${s.gguf.file}`]?.baseModel;
  return OLLAMA_TAGS[s.ollama]?.baseModel;
}

/** The weight format a source implies, when it implies one. */
function sourceQuantization(m: ServedModelSpec): Quantization | undefined {
  const s = m.source;
  if ("gguf" in s) {
    const known = GGUF_FILES[`${s.gguf.repo}/${s.gguf.file}`]?.quant;
    const named = GGUF_TYPE_IN_NAME.exec(s.gguf.file)?.[1]?.toUpperCase();
    return known ?? (named as Quantization | undefined);
  }
  if ("ollama" in s) return OLLAMA_TAGS[s.ollama]?.quant;
  if (/-AWQ$/i.test(s.hf)) return "awq";
  if (/-GPTQ/i.test(s.hf)) return "gptq";
  if (/-FP8$/i.test(s.hf)) return "fp8";
  return undefined;
}

export function resolveModel(m: ServedModelSpec, path: string, issues: SpecIssue[]): ResolvedModel | null {
  const before = issues.length;
  let arch: ModelArch | undefined;
  let archSource = "inline";
  let catalogKey: string | undefined;
  if (typeof m.arch === "object") {
    const a = m.arch;
    if (a.headDim === undefined && a.hiddenSize % a.numAttentionHeads !== 0) {
      issues.push({ path: `${path}.arch.headDim`, message: `hiddenSize ${a.hiddenSize} is not a multiple of numAttentionHeads ${a.numAttentionHeads}`, fix: "give headDim from the model's config.json" });
    }
    if (a.numAttentionHeads % a.numKeyValueHeads !== 0) {
      issues.push({ path: `${path}.arch.numKeyValueHeads`, message: `${a.numAttentionHeads} attention heads are not a multiple of ${a.numKeyValueHeads} KV heads`, fix: "copy num_key_value_heads from config.json" });
    }
    arch = { ...a, headDim: a.headDim ?? Math.floor(a.hiddenSize / a.numAttentionHeads), tieWordEmbeddings: a.tieWordEmbeddings ?? false };
  } else {
    catalogKey = m.arch ?? sourceCatalogKey(m);
    const entry = catalogKey ? findModel(catalogKey) : undefined;
    const unsupported = catalogKey ? Object.entries(UNSUPPORTED_MODELS).find(([id]) => id.toLowerCase() === catalogKey!.toLowerCase()) : undefined;
    if (unsupported) {
      issues.push({ path: `${path}.source`, message: `${unsupported[0]} is a ${unsupported[1]}; the planner cannot size it`, fix: "serve a text-only model (e.g. google/gemma-3-1b-it, Qwen/Qwen2.5-7B-Instruct), or give its text decoder inline as arch if you accept an unplanned vision tower" });
    } else if (!entry) {
      issues.push({
        path: `${path}.arch`,
        message: catalogKey ? `"${catalogKey}" is not in the model catalog` : "the source does not say which architecture this is",
        fix: `set arch to a catalog key (${MODEL_IDS.slice(0, 4).join(", ")}, …) or give it inline: { numLayers, hiddenSize, intermediateSize, numAttentionHeads, numKeyValueHeads, headDim, vocabSize, maxPositionEmbeddings } from config.json`,
      });
    } else {
      arch = entry.arch;
      archSource = entry.id;
      catalogKey = entry.id;
    }
  }

  const implied = (catalogKey ? findModel(catalogKey)?.checkpointQuantization : undefined) ?? sourceQuantization(m);
  const quantization = m.quantization ?? implied ?? (m.engine === "vllm" ? "bf16" : undefined);
  if (!quantization) {
    issues.push({ path: `${path}.quantization`, message: "the weight format is not known for this source", fix: "set quantization, e.g. Q4_K_M or Q4_0" });
  } else {
    const q = QUANTIZATIONS[quantization];
    if (m.engine === "vllm" && q.kind === "gguf") issues.push({ path: `${path}.quantization`, message: `vLLM serves Hugging Face checkpoints here, not GGUF ${quantization}`, fix: "use awq, gptq, fp8 or bf16 with vLLM, or engine llamacpp/ollama for GGUF" });
    if (m.engine !== "vllm" && q.kind === "hf") issues.push({ path: `${path}.quantization`, message: `${m.engine} loads GGUF files; ${quantization} is a Hugging Face format`, fix: "use a GGUF type such as Q4_K_M, Q8_0" });
    if (m.quantization && implied && m.quantization !== implied) issues.push({ path: `${path}.quantization`, message: `says ${m.quantization} but the source is ${implied}`, fix: `set quantization: ${implied} or remove it` });
    else if (m.engine === "vllm" && q.checkpointOnly && !implied) {
      issues.push({ path: `${path}.quantization`, message: `vLLM loads ${quantization} only from a checkpoint quantized that way, and ${"hf" in m.source ? m.source.hf : "this source"} does not say it is one`, fix: `point source.hf at a checkpoint quantized as ${quantization} (its config.json has quantization_config), or use fp8 (quantized while loading) or bf16` });
    }
  }

  let accounting: VllmAccounting = VLLM_ACCOUNTING[DEFAULT_VLLM_VERSION];
  if (m.engineVersion !== undefined) {
    const found = m.engine === "vllm" ? findVllmVersion(m.engineVersion) : undefined;
    if (m.engine !== "vllm") issues.push({ path: `${path}.engineVersion`, message: `${m.engine} runs the pinned image; only vLLM models choose a version`, fix: "remove engineVersion" });
    else if (!found) issues.push({ path: `${path}.engineVersion`, ...vllmVersionRefusal(m.engineVersion) });
    else accounting = found;
  }

  const kvCacheDtype = m.kvCacheDtype ?? "auto";
  const accepted = KV_CACHE_DTYPES_BY_ENGINE[m.engine];
  if (!accepted.includes(kvCacheDtype)) {
    issues.push({ path: `${path}.kvCacheDtype`, message: `${m.engine} has no ${kvCacheDtype} KV cache`, fix: `use one of ${accepted.join(", ")}` });
  }
  if (issues.length > before || !arch || !quantization) return null;

  const ggufSize = "gguf" in m.source ? GGUF_FILES[`${m.source.gguf.repo}/${m.source.gguf.file}`]?.sizeBytes : undefined;
  return {
    arch, archSource, catalogKey, quantization, kvCacheDtype, weights: weightBytes(arch, quantization, ggufSize), accounting,
    vllmQuantization: vllmQuantizationFlag(quantization, implied !== undefined),
  };
}
