/**
 * Models with mixture-of-experts, sliding-window attention or MXFP4 weights (issue 15), and the
 * vision-language models the planner refuses. Not in reference/model-configs.json: each entry names
 * the config it was read from.
 */
import type { CatalogModel } from "./types";

/** openai/gpt-oss gpt_oss/torch/model.py ModelConfig: the 120b defaults, with sliding window on even layers. */
const GPT_OSS_SOURCE =
  "github:openai/gpt-oss gpt_oss/torch/model.py ModelConfig (num_hidden_layers 36, num_experts 128, experts_per_token 4, " +
  "vocab_size 201088, hidden_size 2880, intermediate_size 2880, head_dim 64, 64 heads, 8 KV heads, sliding_window 128 on " +
  "layer_idx % 2 == 0; initial_context_length 4096 × rope_scaling_factor 32 = 131072)";

export const RECENT_MODELS: readonly CatalogModel[] = [
  {
    id: "openai/gpt-oss-120b",
    arch: {
      numLayers: 36, hiddenSize: 2880, intermediateSize: 2880, numAttentionHeads: 64, numKeyValueHeads: 8, headDim: 64,
      vocabSize: 201088, maxPositionEmbeddings: 131072, tieWordEmbeddings: false, // embedding and unembedding are separate modules
      moe: { numExperts: 128, expertsPerToken: 4, expertIntermediateSize: 2880 },
      slidingWindow: { window: 128, fullEvery: 2 },
    },
    supportsPipelineParallel: true, // GptOssForCausalLM(nn.Module, SupportsPP, …) in vllm/model_executor/models/gpt_oss.py (v0.16.0)
    checkpointQuantization: "mxfp4",
    source: GPT_OSS_SOURCE,
    notes: ["Experts are MXFP4; attention, router, embeddings and lm_head are bf16 (quantization_config modules_to_not_convert)."],
  },
  {
    id: "openai/gpt-oss-20b",
    arch: {
      numLayers: 24, hiddenSize: 2880, intermediateSize: 2880, numAttentionHeads: 64, numKeyValueHeads: 8, headDim: 64,
      vocabSize: 201088, maxPositionEmbeddings: 131072, tieWordEmbeddings: false,
      moe: { numExperts: 32, expertsPerToken: 4, expertIntermediateSize: 2880 },
      slidingWindow: { window: 128, fullEvery: 2 },
    },
    supportsPipelineParallel: true,
    checkpointQuantization: "mxfp4",
    source:
      "verbatim copy of the openai/gpt-oss-20b config.json in the code index (find_string id 31112482743: num_hidden_layers 24, " +
      "num_local_experts 32, num_experts_per_tok 4, layer_types sliding/full alternating, quant_method mxfp4, " +
      "max_position_embeddings 131072); other fields as " + GPT_OSS_SOURCE,
  },
  {
    id: "Qwen/Qwen3-Coder-30B-A3B-Instruct",
    arch: {
      numLayers: 48, hiddenSize: 2048, intermediateSize: 6144, numAttentionHeads: 32, numKeyValueHeads: 4, headDim: 128,
      vocabSize: 151936, maxPositionEmbeddings: 262144, tieWordEmbeddings: false,
      moe: { numExperts: 128, expertsPerToken: 8, expertIntermediateSize: 768 },
    },
    supportsPipelineParallel: true, // Qwen3MoeForCausalLM
    source:
      "shape of Qwen/Qwen3-30B-A3B (reference/model-configs.json); 262,144 positions and the shape checked by " +
      "https://github.com/vllm-project/vllm/issues/34076 (reference/datapoints.json: 2×48×4×128×2 = 98304 B/token, " +
      "262144 tokens × 96 KiB = 24.0 GiB, as vLLM logged)",
  },
  {
    id: "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8",
    arch: {
      numLayers: 48, hiddenSize: 2048, intermediateSize: 6144, numAttentionHeads: 32, numKeyValueHeads: 4, headDim: 128,
      vocabSize: 151936, maxPositionEmbeddings: 262144, tieWordEmbeddings: false,
      moe: { numExperts: 128, expertsPerToken: 8, expertIntermediateSize: 768 },
    },
    supportsPipelineParallel: true,
    checkpointQuantization: "fp8",
    weightBlockSize: [128, 128], // config.json quantization_config: fp8, weight_block_size [128, 128]
    source: "as Qwen/Qwen3-Coder-30B-A3B-Instruct; the FP8 checkpoint of https://github.com/vllm-project/vllm/issues/34076",
    notes: ["Block-wise FP8 (one fp32 scale per 128×128 block, +0.2 %); embeddings and lm_head bf16."],
  },
  {
    id: "google/gemma-3-1b-it",
    arch: {
      numLayers: 26, hiddenSize: 1152, intermediateSize: 6912, numAttentionHeads: 4, numKeyValueHeads: 1, headDim: 256,
      vocabSize: 262144, maxPositionEmbeddings: 32768, tieWordEmbeddings: true,
      slidingWindow: { window: 512, fullEvery: 6 },
    },
    supportsPipelineParallel: true, // Gemma3ForCausalLM
    source:
      "gemma-3-1b config.json values as copied in the code index (find_string \"sliding_window_pattern\": 6, id 56269928830: " +
      "26 layers, hidden 1152, intermediate 6912, 4 heads, 1 KV head, head_dim 256, sliding_window 512, pattern 6, " +
      "max_position_embeddings 32768); vocab 262144 from the same family's copies (id 68421056264)",
    notes: ["Text-only (Gemma3ForCausalLM); the 4B, 12B and 27B Gemma 3 models are vision-language models (see UNSUPPORTED_MODELS)."],
  },
];

/**
 * Models the planner recognises and refuses, with what is not modelled. vLLM's profile run for a
 * vision-language model also encodes a dummy batch of images (encoder cache budget), and the vision
 * tower's weights sit beside the language model's; neither is modelled here.
 */
export const UNSUPPORTED_MODELS: Readonly<Record<string, string>> = {
  "meta-llama/Llama-3.2-11B-Vision-Instruct":
    "vision-language model (MllamaForConditionalGeneration): the vision tower's weights, the cross-attention layers' KV and vLLM's encoder cache budget are not modelled",
  "meta-llama/Llama-3.2-90B-Vision-Instruct":
    "vision-language model (MllamaForConditionalGeneration): the vision tower's weights, the cross-attention layers' KV and vLLM's encoder cache budget are not modelled",
  "google/gemma-3-4b-it": "vision-language model (Gemma3ForConditionalGeneration): the SigLIP vision tower's weights and vLLM's encoder cache budget are not modelled",
  "google/gemma-3-12b-it": "vision-language model (Gemma3ForConditionalGeneration): the SigLIP vision tower's weights and vLLM's encoder cache budget are not modelled",
  "google/gemma-3-27b-it": "vision-language model (Gemma3ForConditionalGeneration): the SigLIP vision tower's weights and vLLM's encoder cache budget are not modelled",
};
