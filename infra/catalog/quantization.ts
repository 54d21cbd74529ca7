/**
 * Weight formats and KV cache element types: how many bits a weight or a KV element costs, and how each
 * engine spells them. Sources: reference/memory-math.md (§a.7 KV dtypes, §e quantized weights),
 * vllm-serve-args.json, llama-server-args.json, llama-server-observed.md and ollama.json.
 *
 * GGUF bits per weight are effective rates of real files, not the nominal block rates: a llama.cpp "_M"
 * mix stores some tensors in a larger type (the output tensor is Q6_K in K_M mixes), so Q4_K_M files are
 * ~4.8 bpw, not 4.5. Derivation: file bytes × 8 / parameters, with the Provided-files tables of the two
 * model cards reference/model-configs.json cites (github:YinanWusoymilk/hf-readme@eb4de03,
 * TheBloke_CodeLlama-7B-Instruct-GGUF.md and TheBloke_deepseek-coder-33B-instruct-GGUF.md; decimal GB) and
 * parameters counted from the catalog shapes (CodeLlama-7B 6.739e9, deepseek-coder-33B 33.343e9: embeddings
 * + lm_head + layers). The counts check out: Q8_0 files come to 8.50 bpw and Q6_K to 6.56, the exact block
 * rates. Each rate below is the larger of the two models' figures, rounded up. Models under ~2B run higher
 * (deepseek-coder-1.3b Q4_K_M: 5.19 bpw) because the Q6_K output tensor is a larger share: the planner
 * should use GGUF_FILES sizeBytes when it knows the file.
 */
import type { KvCacheDtype, Quantization, QuantizationFormat } from "./types";

const GGUF_CARDS = "TheBloke CodeLlama-7B-Instruct-GGUF and deepseek-coder-33B-instruct-GGUF Provided-files tables (see file header)";

export const QUANTIZATIONS: { readonly [K in Quantization]: QuantizationFormat } = {
  bf16: {
    id: "bf16",
    kind: "hf",
    linearBitsPerWeight: 16,
    embeddingBitsPerWeight: 16,
    vllmQuantization: null,
    needsFp8Hardware: false,
    source: "2 bytes per weight (bfloat16 checkpoint, config torch_dtype; reference/model-configs.json)",
  },
  fp16: {
    id: "fp16",
    kind: "hf",
    linearBitsPerWeight: 16,
    embeddingBitsPerWeight: 16,
    vllmQuantization: null,
    needsFp8Hardware: false,
    source: "2 bytes per weight (float16)",
  },
  fp8: {
    id: "fp8",
    kind: "hf",
    linearBitsPerWeight: 8, // one byte per weight; per-tensor scales are negligible
    embeddingBitsPerWeight: 16, // only Linear layers are quantized; embeddings/lm_head stay 16-bit (memory-math.md §e)
    // Passed only to quantize a 16-bit checkpoint while loading; an FP8 checkpoint declares its own method and
    // gets no flag (see vllmQuantizationFlag).
    vllmQuantization: "fp8", // in reference/vllm-serve-args.json accepted_values.quantization
    needsFp8Hardware: true,
    source:
      "vLLM FP8 W8A8 docs (https://docs.vllm.ai/en/stable/features/quantization/fp8/): FP8 compute needs compute capability " +
      ">= 8.9 (Ada, Hopper, Blackwell). Recent vLLM also runs FP8 weights on Ampere/Turing as weight-only W8A16 through FP8 " +
      "Marlin (vllm-project/vllm#5975), but not FP8 MoE models; needsFp8Hardware stays true so the planner warns or refuses.",
  },
  awq: {
    id: "awq",
    kind: "hf",
    linearBitsPerWeight: 4 + 20 / 128, // 4.15625
    embeddingBitsPerWeight: 16, // embeddings and lm_head are not quantized (memory-math.md §e)
    // No --quantization: vLLM reads quant_method "awq" from the checkpoint and upgrades it to awq_marlin itself
    // when the GPU allows (AWQMarlinConfig.override_quantization_method accepts user_quant None; an explicit
    // `awq` would force the slow kernel). Both kernels need compute capability 7.5 (get_min_capability 75 in
    // vllm/model_executor/layers/quantization/awq.py and awq_marlin.py at v0.16.0).
    vllmQuantization: null,
    needsFp8Hardware: false,
    minComputeCapability: 7.5,
    checkpointOnly: true,
    source:
      "memory-math.md §e: bits 4, group_size 128 (casperhansen/deepseek-r1-distill-llama-70b-awq config); one fp16 scale + " +
      "one 4-bit zero per 128-weight group = 4 + 20/128 bits (arithmetic; packing not verified from AutoAWQ/vLLM source)",
  },
  gptq: {
    id: "gptq",
    kind: "hf",
    linearBitsPerWeight: 4 + 20 / 128, // 4.15625; act-order's int32 group index per input row is negligible
    embeddingBitsPerWeight: 16,
    vllmQuantization: null, // read from the checkpoint; gptq_marlin chosen by vLLM as for awq
    needsFp8Hardware: false,
    minComputeCapability: 6.0, // gptq.py get_min_capability 60 (gptq_marlin: 75) at v0.16.0
    checkpointOnly: true,
    source:
      "memory-math.md §e: bits 4, group_size 128, desc_act true, sym true (TheBloke deepseek-coder-1.3b-instruct-GPTQ config); " +
      "same group overhead as awq (arithmetic)",
  },
  mxfp4: {
    id: "mxfp4",
    kind: "hf",
    // OCP MX: 32 FP4 (E2M1) values share one 8-bit E8M0 scale = 4 + 8/32 bits (mxfp4.py mxfp4_block = 32; the
    // checkpoint stores *_blocks (uint8, two values a byte) and *_scales (uint8) per expert matrix).
    linearBitsPerWeight: 4.25,
    embeddingBitsPerWeight: 16,
    vllmQuantization: null, // quant_method "mxfp4" in the checkpoint's config.json; vLLM reads it
    needsFp8Hardware: false,
    minComputeCapability: 8.0, // Mxfp4Config.get_min_capability 80 (vllm/model_executor/layers/quantization/mxfp4.py, v0.16.0)
    expertsOnly: true, // gpt-oss: attention, router, embeddings and unembedding are bf16 (openai/gpt-oss gpt_oss/torch/model.py)
    checkpointOnly: true,
    source:
      "vllm-project/vllm v0.16.0 vllm/model_executor/layers/quantization/mxfp4.py (block 32, min capability 80, per-backend " +
      "padding of the expert matrices); openai/gpt-oss gpt_oss/torch/model.py (which modules are MoE experts)",
  },
  Q8_0: {
    id: "Q8_0",
    kind: "gguf",
    linearBitsPerWeight: 8.5, // 34 bytes per 32 weights; files: 8.50 (7B), 8.50 (33B)
    embeddingBitsPerWeight: 8.5, // token_embd is quantized like the rest
    vllmQuantization: null,
    needsFp8Hardware: false,
    source: `llama.cpp block q8_0 = 32 int8 + one fp16 scale (reference/llama-server-observed.md: 34 bytes per 32); ${GGUF_CARDS}: 7.16 GB, 35.43 GB`,
  },
  Q6_K: {
    id: "Q6_K",
    kind: "gguf",
    linearBitsPerWeight: 6.5625, // files: 6.565 (7B), 6.564 (33B)
    embeddingBitsPerWeight: 6.5625,
    vllmQuantization: null,
    needsFp8Hardware: false,
    source: `memory-math.md §e (llama.cpp k-quants: Q6_K 6.5625 bpw); ${GGUF_CARDS}: 5.53 GB, 27.36 GB`,
  },
  Q5_K_M: {
    id: "Q5_K_M",
    kind: "gguf",
    linearBitsPerWeight: 5.68, // files: 5.675 (7B), 5.648 (33B); nominal Q5_K is 5.5
    embeddingBitsPerWeight: 5.68,
    vllmQuantization: null,
    needsFp8Hardware: false,
    source: `effective rate of real files (header); nominal Q5_K 5.5 bpw (memory-math.md §e); ${GGUF_CARDS}: 4.78 GB, 23.54 GB`,
  },
  Q4_K_M: {
    id: "Q4_K_M",
    kind: "gguf",
    linearBitsPerWeight: 4.85, // files: 4.844 (7B), 4.784 (33B; memory-math.md §e ≈ 4.8); nominal Q4_K is 4.5
    embeddingBitsPerWeight: 4.85, // token_embd is Q4_K like the rest; the output tensor (Q6_K) is inside the file rate
    vllmQuantization: null,
    needsFp8Hardware: false,
    source:
      `effective rate of real files (header); nominal Q4_K 4.5 bpw (memory-math.md §e); ${GGUF_CARDS}: 4.08 GB, 19.94 GB ` +
      "(also reference/model-configs.json gguf_files). TinyLlama 0.67 GB gives 4.87, deepseek-coder-1.3b 874 MB 5.19.",
  },
  Q4_0: {
    id: "Q4_0",
    kind: "gguf",
    linearBitsPerWeight: 4.55, // files: 4.547 (7B), 4.515 (33B); block rate 4.5 = 18 bytes per 32 weights
    embeddingBitsPerWeight: 4.55,
    vllmQuantization: null,
    needsFp8Hardware: false,
    source:
      `llama.cpp block q4_0 = 32 4-bit + one fp16 scale = 18 bytes per 32 weights (4.5 bpw); the files run slightly higher ` +
      `(Q6_K output tensor); ${GGUF_CARDS}: 3.83 GB, 18.82 GB`,
  },
  Q3_K_M: {
    id: "Q3_K_M",
    kind: "gguf",
    linearBitsPerWeight: 3.92, // files: 3.918 (7B), 3.856 (33B); nominal Q3_K is 3.4375
    embeddingBitsPerWeight: 3.92,
    vllmQuantization: null,
    needsFp8Hardware: false,
    source: `effective rate of real files (header); nominal Q3_K 3.4375 bpw (memory-math.md §e); ${GGUF_CARDS}: 3.30 GB, 16.07 GB`,
  },
  Q2_K: {
    id: "Q2_K",
    kind: "gguf",
    linearBitsPerWeight: 3.37, // files: 3.360 (7B), 3.366 (33B); nominal Q2_K is 2.5625
    embeddingBitsPerWeight: 3.37,
    vllmQuantization: null,
    needsFp8Hardware: false,
    source:
      `effective rate of real files (header): the Q2_K mix keeps many tensors in Q3_K/Q4_K and up, so files are ~30% above ` +
      `the nominal 2.5625 bpw (memory-math.md §e); ${GGUF_CARDS}: 2.83 GB, 14.03 GB`,
  },
};

/**
 * Bytes per KV cache element. KV bytes per token = 2 (K and V) × layers × KV heads × head dim × this
 * (memory-math.md §a.7; llama-server-observed.md "KV cache accounting", which matched every log line).
 */
export const KV_CACHE_DTYPE_BYTES: { readonly [K in KvCacheDtype]: number } = {
  auto: 2, // vLLM "auto" = model dtype (memory-math.md §a.7); every catalog model is bf16/fp16; llama.cpp's default is f16
  fp16: 2,
  bf16: 2,
  fp8: 1, // memory-math.md §a.7: fp8, fp8_e4m3, fp8_e5m2 = 1 byte
  // llama-server-observed.md: "q8_0 = 34 bytes per 32 elements" (2.12 MiB vs 4.00 MiB f16 in the log). Ollama's own
  // estimate counts 1 byte (ollama.json OLLAMA_KV_CACHE_TYPE), but llama-server allocates the real block size.
  q8_0: 34 / 32,
  q4_0: 18 / 32, // ggml block q4_0: 32 4-bit values + one fp16 scale (same block layout as the weight type above)
};

/**
 * KV cache types each engine accepts, in the catalog's spelling. A quantized V cache (q8_0, q4_0) needs
 * flash attention in llama.cpp and Ollama (llama-server-observed.md §7; ollama.json OLLAMA_KV_CACHE_TYPE).
 */
export const KV_CACHE_DTYPES_BY_ENGINE: {
  readonly vllm: readonly KvCacheDtype[];
  readonly llamacpp: readonly KvCacheDtype[];
  readonly ollama: readonly KvCacheDtype[];
} = {
  // vllm-serve-args.json accepted_values.kv_cache_dtype (vllm/config/cache.py CacheDType): auto, float16, bfloat16, fp8, …
  vllm: ["auto", "fp16", "bf16", "fp8"],
  // llama-server-args.json --cache-type-k/-v choices: f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1 (default f16)
  llamacpp: ["auto", "fp16", "bf16", "q8_0", "q4_0"],
  // ollama.json OLLAMA_KV_CACHE_TYPE: passed to llama-server as --cache-type-k/-v; Ollama's own check lists f16, q8_0, q4_0
  ollama: ["auto", "fp16", "q8_0", "q4_0"],
};

/**
 * Each engine's spelling of a KV cache type: the value of vLLM `--kv-cache-dtype`, llama-server
 * `--cache-type-k`/`--cache-type-v`, or Ollama `OLLAMA_KV_CACHE_TYPE`. null = pass nothing (engine default,
 * f16 for llama-server and Ollama). Types an engine does not accept are absent.
 */
export const KV_CACHE_FLAG_VALUE: {
  readonly vllm: { readonly [K in KvCacheDtype]?: string };
  readonly llamacpp: { readonly [K in KvCacheDtype]?: string | null };
  readonly ollama: { readonly [K in KvCacheDtype]?: string | null };
} = {
  vllm: { auto: "auto", fp16: "float16", bf16: "bfloat16", fp8: "fp8" },
  llamacpp: { auto: null, fp16: "f16", bf16: "bf16", q8_0: "q8_0", q4_0: "q4_0" },
  ollama: { auto: null, fp16: "f16", q8_0: "q8_0", q4_0: "q4_0" },
};

/**
 * The `--quantization` value a replica renders. A checkpoint whose config.json declares its own method
 * (AWQ, GPTQ, compressed-tensors or block FP8, MXFP4) gets none: vLLM reads the method from the checkpoint
 * and refuses a different one ("Quantization method specified in the model config (…) does not match the
 * quantization method specified in the `quantization` argument (…)", vllm/config/model.py
 * _verify_quantization). Only a 16-bit checkpoint quantized while loading (fp8) names the method.
 */
export function vllmQuantizationFlag(quantization: Quantization, checkpointQuantized: boolean): string | null {
  return checkpointQuantized ? null : QUANTIZATIONS[quantization].vllmQuantization;
}
