/**
 * Model architectures the planner knows, keyed by Hugging Face repo id, plus the GGUF files and Ollama
 * tags that quantize them. Every shape comes from reference/model-configs.json, which names the
 * config.json copy it read; catalog.test.ts compares this table with that file so the two cannot drift.
 *
 * headDim is config `head_dim` when set, else hidden_size / num_attention_heads (memory-math.md §a.7).
 * supportsPipelineParallel: vLLM implements SupportsPP for its Llama, Qwen2, Qwen3, Qwen3-MoE, Mistral and
 * Mixtral model classes; PP on a model without it fails ("Pipeline parallelism is not supported for this
 * model", memory-math.md §b).
 */
import type { CatalogModel, Quantization } from "./types";
import { RECENT_MODELS } from "./models-recent";

const REF = "reference/model-configs.json";

const MODEL_LIST: readonly CatalogModel[] = [
  {
    id: "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
    arch: {
      numLayers: 80, hiddenSize: 8192, intermediateSize: 28672, numAttentionHeads: 64, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 128256, maxPositionEmbeddings: 131072, tieWordEmbeddings: false,
    },
    supportsPipelineParallel: true, // LlamaForCausalLM
    source: `${REF}: three derivative config.json copies that agree, e.g. https://huggingface.co/casperhansen/deepseek-r1-distill-llama-70b-awq/blob/main/config.json`,
    notes: ["The repo's own config.json was not retrieved; derivatives copy it. No parameter statement found (the name says 70B)."],
  },
  {
    id: "casperhansen/deepseek-r1-distill-llama-70b-awq",
    arch: {
      numLayers: 80, hiddenSize: 8192, intermediateSize: 28672, numAttentionHeads: 64, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 128256, maxPositionEmbeddings: 131072, tieWordEmbeddings: false,
    },
    supportsPipelineParallel: true, // LlamaForCausalLM
    checkpointQuantization: "awq",
    source: `${REF}: https://huggingface.co/casperhansen/deepseek-r1-distill-llama-70b-awq/blob/main/config.json`,
    notes: ["AWQ 4-bit, group_size 128, zero_point true, version gemm (config quantization_config)."],
  },
  {
    id: "Qwen/Qwen3-32B",
    arch: {
      numLayers: 64, hiddenSize: 5120, intermediateSize: 25600, numAttentionHeads: 64, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 151936, maxPositionEmbeddings: 40960, tieWordEmbeddings: false,
    },
    statedParams: 32.8e9, // "32.8B": https://apxml.com/models/qwen3-32b quoting the Qwen card (reference total_params_source)
    supportsPipelineParallel: true, // Qwen3ForCausalLM
    source: `${REF}: github:citsjtu2020/LLM-Prof@8434c8d sglang/Model_Config.md (verbatim copy of the HF config.json)`,
    notes: ["heads × head_dim = 8192 ≠ hidden_size 5120: use headDim, never hidden/heads."],
  },
  {
    id: "Qwen/Qwen3-32B-AWQ",
    arch: {
      numLayers: 64, hiddenSize: 5120, intermediateSize: 25600, numAttentionHeads: 64, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 151936, maxPositionEmbeddings: 40960, tieWordEmbeddings: false,
    },
    supportsPipelineParallel: true, // Qwen3ForCausalLM (assumed, see notes)
    checkpointQuantization: "awq", // Qwen's own AWQ release (the repo name); its config.json was not read
    source: `${REF}: config.json NOT FOUND; shape copied from the Qwen/Qwen3-32B entry`,
    notes: [
      "NOT VERIFIED: this is the base model Qwen/Qwen3-32B's shape; Qwen/Qwen3-32B-AWQ is Qwen's own AWQ of it, but its config.json was not in the reference.",
      "AWQ bits/group_size not verified (other 32B AWQ configs use 4 bits, group 128).",
    ],
  },
  {
    id: "mistralai/Devstral-Small-2507",
    arch: {
      numLayers: 40, hiddenSize: 5120, intermediateSize: 32768, numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 131072, maxPositionEmbeddings: 131072, tieWordEmbeddings: false,
    },
    statedParams: 24e9, // "24B": https://neuralhub.xyz/dashboard/models/mistralai/devstral-small (OpenRouter description copy)
    supportsPipelineParallel: true, // Mistral architecture (assumed, see notes)
    source:
      `${REF} base_model_text_config_reference: Devstral's own config.json NOT FOUND; shape is the text_config of its base ` +
      "mistralai/Mistral-Small-3.1-24B-Instruct-2503 (https://huggingface.co/mistralai/Mistral-Small-3.1-24B-Instruct-2503/blob/main/config.json)",
    notes: [
      "NOT VERIFIED: the base model's (Mistral-Small-3.1-24B) text shape; the card says Devstral is fine-tuned from it, text-only, vision encoder removed.",
      "tieWordEmbeddings false is not in the reference; untied embeddings give 23.6B derived parameters, matching the stated 24B (tied would give 22.9B).",
    ],
  },
  {
    id: "meta-llama/Llama-3.3-70B-Instruct",
    arch: {
      numLayers: 80, hiddenSize: 8192, intermediateSize: 28672, numAttentionHeads: 64, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 128256, maxPositionEmbeddings: 131072, tieWordEmbeddings: false,
    },
    supportsPipelineParallel: true, // LlamaForCausalLM
    source: `${REF}: https://huggingface.co/relaxml/Llama-3.3-70B-Instruct-QTIP-3Bit/blame/d9f5da3eb82d0f86a19bb736a503ceb6bdd54fe4/config.json (copy of the gated repo's config)`,
    notes: ["Gated repo; values from a derivative that copies its config. No parameter statement found (the name says 70B)."],
  },
  {
    id: "meta-llama/Llama-3.1-8B-Instruct",
    arch: {
      numLayers: 32, hiddenSize: 4096, intermediateSize: 14336, numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 128256, maxPositionEmbeddings: 131072, tieWordEmbeddings: false,
    },
    statedParams: 8e9, // "8B": Meta model card table (reference total_params_source: YinanWusoymilk/hf-readme copy of the card)
    supportsPipelineParallel: true, // LlamaForCausalLM
    source: `${REF}: github:mlc-ai/mlc-llm@79d603f python/mlc_llm/model/model_preset.py (copy of HF config.json, key llama3_1_8b)`,
    notes: ["head_dim not in config: 4096 / 32 = 128."],
  },
  {
    id: "deepseek-ai/deepseek-coder-33b-instruct",
    arch: {
      numLayers: 62, hiddenSize: 7168, intermediateSize: 19200, numAttentionHeads: 56, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 32256, maxPositionEmbeddings: 16384, tieWordEmbeddings: false,
    },
    statedParams: 33e9, // "33B parameter model": https://huggingface.co/deepseek-ai/deepseek-coder-33b-instruct/blob/9725382c/README.md
    supportsPipelineParallel: true, // LlamaForCausalLM
    source: `${REF}: configs of deepseek-coder-33b-base derivatives, e.g. https://huggingface.co/codefuse-ai/CodeFuse-DeepSeek-33B-4bits/blob/eaa10ca6/config.json`,
    notes: ["Shape is 33b-base's, which the card says the instruct model is initialized from. head_dim 7168 / 56 = 128."],
  },
  {
    id: "deepseek-ai/deepseek-coder-1.3b-instruct",
    arch: {
      numLayers: 24, hiddenSize: 2048, intermediateSize: 5504, numAttentionHeads: 16, numKeyValueHeads: 16, headDim: 128,
      vocabSize: 32256, maxPositionEmbeddings: 16384, tieWordEmbeddings: false,
    },
    statedParams: 1.3e9, // "1.3B parameter model": model card copy (reference total_params_source)
    supportsPipelineParallel: true, // LlamaForCausalLM
    source: `${REF}: https://huggingface.co/TheBloke/deepseek-coder-1.3b-instruct-GPTQ/blame/896dea7a/config.json and 5+ agreeing derivatives`,
    notes: ["No GQA (16 KV heads). head_dim 2048 / 16 = 128."],
  },
  {
    id: "Qwen/Qwen2.5-7B-Instruct",
    arch: {
      numLayers: 28, hiddenSize: 3584, intermediateSize: 18944, numAttentionHeads: 28, numKeyValueHeads: 4, headDim: 128,
      vocabSize: 152064, maxPositionEmbeddings: 32768, tieWordEmbeddings: false,
    },
    statedParams: 7.61e9, // "7.61B (non-embedding 6.53B)": Qwen card copy (reference total_params_source)
    supportsPipelineParallel: true, // Qwen2ForCausalLM
    source: `${REF}: https://huggingface.co/osllmai-community/Qwen2.5-7B-Instruct/blob/main/config.json (_name_or_path Qwen/Qwen2.5-7B-Instruct)`,
    notes: ["32768 is the native window; the card's 131,072 needs YaRN rope_scaling added by the user."],
  },
  {
    id: "Snowflake/Arctic-Text2SQL-R1-7B",
    arch: {
      numLayers: 28, hiddenSize: 3584, intermediateSize: 18944, numAttentionHeads: 28, numKeyValueHeads: 4, headDim: 128,
      vocabSize: 152064, maxPositionEmbeddings: 32768, tieWordEmbeddings: false,
    },
    supportsPipelineParallel: true, // Qwen2ForCausalLM (assumed, see notes)
    source: `${REF}: config.json NOT FOUND (https://huggingface.co/Snowflake/Arctic-Text2SQL-R1-7B/tree/main); shape copied from the Qwen/Qwen2.5-7B-Instruct entry`,
    notes: [
      "NOT VERIFIED: the base shape of Qwen2.5-7B (the model is a Qwen2.5-Coder-7B-Instruct fine-tune; repo tagged qwen2).",
      "Consistent with the repo's 4 safetensors shards totalling ~15.24 GB (~7.6B parameters at 2 bytes).",
    ],
  },
  {
    id: "codellama/CodeLlama-7b-Instruct-hf",
    arch: {
      numLayers: 32, hiddenSize: 4096, intermediateSize: 11008, numAttentionHeads: 32, numKeyValueHeads: 32, headDim: 128,
      vocabSize: 32016, maxPositionEmbeddings: 16384, tieWordEmbeddings: false,
    },
    statedParams: 7e9, // "7B instruct-tuned version": model card copy (reference total_params_source)
    supportsPipelineParallel: true, // LlamaForCausalLM
    source: `${REF}: github:RahulSChand/gpu_poor@ad2fc0e public/all_configs.json; KV heads and max positions from the base CodeLlama-7b-hf config (mlc-llm model_preset.py)`,
    notes: ["No GQA (32 KV heads): 512 KiB of 16-bit KV per token."],
  },
  {
    id: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    arch: {
      numLayers: 22, hiddenSize: 2048, intermediateSize: 5632, numAttentionHeads: 32, numKeyValueHeads: 4, headDim: 64,
      vocabSize: 32000, maxPositionEmbeddings: 2048, tieWordEmbeddings: false,
    },
    statedParams: 1.1e9, // "only 1.1B parameters": model card copy (reference total_params_source)
    supportsPipelineParallel: true, // LlamaForCausalLM
    source: `${REF}: github:mlc-ai/mlc-llm@79d603f python/mlc_llm/model/model_preset.py (key tinyllama_1b_chat_v1.0)`,
    notes: ["head_dim 2048 / 32 = 64."],
  },
  {
    id: "Salesforce/codegen-350M-mono",
    arch: {
      numLayers: 20, hiddenSize: 1024, intermediateSize: 4096, numAttentionHeads: 16, numKeyValueHeads: 16, headDim: 64,
      vocabSize: 51200, maxPositionEmbeddings: 2048, tieWordEmbeddings: false,
    },
    statedParams: 350e6, // "350M trainable parameters": model card copy (reference total_params_source)
    supportsPipelineParallel: false, // CodeGenForCausalLM: not among vLLM's SupportsPP models
    source: `${REF}: https://huggingface.co/Xenova/codegen-350M-mono/blame/4ecc8a29/config.json (GPT-J style keys n_layer, n_embd, n_head, n_positions)`,
    notes: [
      "intermediateSize 4096 = 4 × n_embd: config has n_inner null, which CodeGen reads as 4 × n_embd (reference: not verified from source).",
      "CodeGen's MLP is two matrices (fc_in, fc_out, gelu), not the gated three of Llama: a gated-MLP parameter count overstates it (~440M vs 350M).",
      "No GQA: KV heads = n_head = 16. Whether vLLM implements CodeGenForCausalLM at all was not checked.",
    ],
  },
  {
    id: "mistralai/Mixtral-8x7B-Instruct-v0.1",
    arch: {
      numLayers: 32, hiddenSize: 4096, intermediateSize: 14336, numAttentionHeads: 32, numKeyValueHeads: 8, headDim: 128,
      vocabSize: 32000, maxPositionEmbeddings: 32768, tieWordEmbeddings: false,
      // config num_local_experts 8, num_experts_per_tok 2; intermediate_size is per expert
      moe: { numExperts: 8, expertsPerToken: 2, expertIntermediateSize: 14336 },
    },
    supportsPipelineParallel: true, // MixtralForCausalLM
    source: `${REF}: github:mlc-ai/mlc-llm@79d603f python/mlc_llm/model/model_preset.py (key Mixtral-8x7B-v0.1, the base model's config)`,
    notes: ["Base Mixtral-8x7B-v0.1 config; the Instruct model shares the architecture. No parameter statement in the reference."],
  },
  {
    id: "Qwen/Qwen3-30B-A3B",
    arch: {
      numLayers: 48, hiddenSize: 2048, intermediateSize: 6144, numAttentionHeads: 32, numKeyValueHeads: 4, headDim: 128,
      vocabSize: 151936, maxPositionEmbeddings: 40960, tieWordEmbeddings: false,
      // config num_experts 128, num_experts_per_tok 8, moe_intermediate_size 768; every layer is MoE
      moe: { numExperts: 128, expertsPerToken: 8, expertIntermediateSize: 768 },
    },
    supportsPipelineParallel: true, // Qwen3MoeForCausalLM
    source: `${REF}: github:citsjtu2020/LLM-Prof@8434c8d sglang/Model_Config.md (verbatim copy of the HF config.json)`,
    notes: [
      "decoder_sparse_step 1 and mlp_only_layers [] make every layer MoE: intermediateSize (6144) is unused.",
      "No parameter statement in the reference (the name says 30B total, 3B active).",
    ],
  },
];

const ALL_MODELS: readonly CatalogModel[] = [...MODEL_LIST, ...RECENT_MODELS];

export const MODELS: Readonly<Record<string, CatalogModel>> = Object.fromEntries(ALL_MODELS.map((m) => [m.id, m]));

/** Every catalogued model id, for "accepted: …" in error messages. */
export const MODEL_IDS: string[] = ALL_MODELS.map((m) => m.id);

const MODEL_BY_LOWER_ID: ReadonlyMap<string, CatalogModel> = new Map(ALL_MODELS.map((m) => [m.id.toLowerCase(), m]));

/** The model with this Hugging Face repo id (case-insensitive, as the Hub is); undefined when unknown. */
export function findModel(id: string): CatalogModel | undefined {
  return MODEL_BY_LOWER_ID.get(id.trim().toLowerCase());
}

/** A GGUF file on the Hugging Face Hub and the catalog model it quantizes. */
export interface GgufFile {
  repo: string;
  file: string;
  quant: Quantization;
  /** File size in bytes (Hub listings are decimal GB). */
  sizeBytes: number;
  /** Catalog key of the model the file quantizes. */
  baseModel: string;
  source: string;
}

const GGUF_FILE_LIST: readonly GgufFile[] = [
  {
    repo: "TheBloke/CodeLlama-7B-Instruct-GGUF",
    file: "codellama-7b-instruct.Q4_K_M.gguf",
    quant: "Q4_K_M",
    sizeBytes: 4.08e9, // 4.08 GB
    baseModel: "codellama/CodeLlama-7b-Instruct-hf",
    source: `${REF} gguf_files: Provided-files table of the model card (github:YinanWusoymilk/hf-readme@eb4de03 TheBloke_CodeLlama-7B-Instruct-GGUF.md)`,
  },
  {
    repo: "TheBloke/deepseek-coder-1.3b-instruct-GGUF",
    file: "deepseek-coder-1.3b-instruct.Q4_K_M.gguf",
    quant: "Q4_K_M",
    sizeBytes: 0.874e9, // 874 MB
    baseModel: "deepseek-ai/deepseek-coder-1.3b-instruct",
    source: `${REF} gguf_files: https://huggingface.co/TheBloke/deepseek-coder-1.3b-instruct-GGUF/tree/main (file listing '874 MB')`,
  },
  {
    repo: "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF",
    file: "tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf",
    quant: "Q4_K_M",
    sizeBytes: 0.67e9, // 0.67 GB
    baseModel: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    source: `${REF} gguf_files: Provided-files table of the model card (github:YinanWusoymilk/hf-readme@eb4de03 TheBloke_TinyLlama-1.1B-Chat-v1.0-GGUF.md)`,
  },
  {
    repo: "TheBloke/deepseek-coder-33B-instruct-GGUF",
    file: "deepseek-coder-33b-instruct.Q4_K_M.gguf",
    quant: "Q4_K_M",
    sizeBytes: 19.94e9, // 19.94 GB
    baseModel: "deepseek-ai/deepseek-coder-33b-instruct",
    source: `${REF} gguf_files: Provided-files table of the model card (github:YinanWusoymilk/hf-readme@eb4de03 TheBloke_deepseek-coder-33B-instruct-GGUF.md)`,
  },
  {
    repo: "TheBloke/Mixtral-8x7B-Instruct-v0.1-GGUF",
    file: "mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf",
    quant: "Q4_K_M",
    sizeBytes: 26.44e9, // 26.44 GB; the card lists the same size for Q4_0 (recorded as published)
    baseModel: "mistralai/Mixtral-8x7B-Instruct-v0.1",
    source: `${REF} gguf_files: Provided-files table of the model card (github:YinanWusoymilk/hf-readme@eb4de03 TheBloke_Mixtral-8x7B-Instruct-v0.1-GGUF.md)`,
  },
];

/** GGUF files keyed by `${repo}/${file}`. The planner should prefer sizeBytes to a bits-per-weight estimate. */
export const GGUF_FILES: Readonly<Record<string, GgufFile>> = Object.fromEntries(
  GGUF_FILE_LIST.map((f) => [`${f.repo}/${f.file}`, f]),
);

/** An Ollama library tag and the catalog model it packages. */
export interface OllamaTag {
  /** Catalog key of the model the tag packages. */
  baseModel: string;
  quant: Quantization;
  note: string;
}

/** Ollama library tags. The reference has no Ollama size or quantization; see each note. */
export const OLLAMA_TAGS: Readonly<Record<string, OllamaTag>> = {
  "deepseek-coder:33b": {
    baseModel: "deepseek-ai/deepseek-coder-33b-instruct",
    quant: "Q4_0",
    note:
      "Q4_0 and the instruct weights are the Ollama library default for this tag, not in the reference; size NOT FOUND in " +
      "reference/model-configs.json ollama_library (TheBloke's Q4_0 GGUF of the same model is 18.82 GB). " +
      "Check with `ollama show deepseek-coder:33b`.",
  },
  "qwen2.5:7b": {
    baseModel: "Qwen/Qwen2.5-7B-Instruct",
    quant: "Q4_K_M",
    note: "Q4_K_M is the Ollama library default for this tag, not in the reference; size not in the reference.",
  },
  "llama3.1:8b": {
    baseModel: "meta-llama/Llama-3.1-8B-Instruct",
    quant: "Q4_K_M",
    note: "Q4_K_M is the Ollama library default for this tag, not in the reference; size not in the reference.",
  },
  "tinyllama:1.1b": {
    baseModel: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    quant: "Q4_0",
    note: "Q4_0 is the Ollama library default for this tag, not in the reference; size not in the reference.",
  },
};
