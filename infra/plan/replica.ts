/** What a model's replicas share: its resolved architecture, format, KV type and weight sizes. */
import { findModel, GGUF_FILES, MODEL_IDS, OLLAMA_TAGS } from "../catalog/models";
import { QUANTIZATIONS, KV_CACHE_DTYPES_BY_ENGINE } from "../catalog/quantization";
import type { KvCacheDtype, ModelArch, Quantization } from "../catalog/types";
import type { ReplicaSpec, ServedModelSpec } from "../spec/schema";
import type { SpecIssue } from "../spec/errors";
import { weightBytes, type WeightBytes } from "./arch";
import type { ResolvedNode } from "./nodes";

export interface ResolvedModel {
  arch: ModelArch;
  /** Catalog key, or "inline". */
  archSource: string;
  catalogKey?: string;
  quantization: Quantization;
  kvCacheDtype: KvCacheDtype;
  weights: WeightBytes;
}

export interface ReplicaInput extends ResolvedModel {
  model: ServedModelSpec;
  /** Spec path of the replica, e.g. models[1].replicas[0]. */
  path: string;
  /** Spec path of its model, e.g. models[1]. */
  modelPath: string;
  replica: ReplicaSpec;
  index: number;
  nodes: Map<string, ResolvedNode>;
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
    if (!entry) {
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

  const implied = sourceQuantization(m);
  const quantization = m.quantization ?? implied ?? (m.engine === "vllm" ? "bf16" : undefined);
  if (!quantization) {
    issues.push({ path: `${path}.quantization`, message: "the weight format is not known for this source", fix: "set quantization, e.g. Q4_K_M or Q4_0" });
  } else {
    const q = QUANTIZATIONS[quantization];
    if (m.engine === "vllm" && q.kind === "gguf") issues.push({ path: `${path}.quantization`, message: `vLLM serves Hugging Face checkpoints here, not GGUF ${quantization}`, fix: "use awq, gptq, fp8 or bf16 with vLLM, or engine llamacpp/ollama for GGUF" });
    if (m.engine !== "vllm" && q.kind === "hf") issues.push({ path: `${path}.quantization`, message: `${m.engine} loads GGUF files; ${quantization} is a Hugging Face format`, fix: "use a GGUF type such as Q4_K_M, Q8_0" });
    if (m.quantization && implied && m.quantization !== implied) issues.push({ path: `${path}.quantization`, message: `says ${m.quantization} but the source is ${implied}`, fix: `set quantization: ${implied} or remove it` });
  }

  const kvCacheDtype = m.kvCacheDtype ?? "auto";
  const accepted = KV_CACHE_DTYPES_BY_ENGINE[m.engine];
  if (!accepted.includes(kvCacheDtype)) {
    issues.push({ path: `${path}.kvCacheDtype`, message: `${m.engine} has no ${kvCacheDtype} KV cache`, fix: `use one of ${accepted.join(", ")}` });
  }
  if (issues.length > before || !arch || !quantization) return null;

  const ggufSize = "gguf" in m.source ? GGUF_FILES[`${m.source.gguf.repo}/${m.source.gguf.file}`]?.sizeBytes : undefined;
  return { arch, archSource, catalogKey, quantization, kvCacheDtype, weights: weightBytes(arch, quantization, ggufSize) };
}
