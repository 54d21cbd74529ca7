/**
 * vLLM versions the planner models, and how each one accounts for GPU memory at start-up. Read from
 * vLLM's source per version (the vllm-project/vllm snapshot was too large to fetch whole; the same
 * history was read from mirrors):
 * - v0.21.0: local-inference-lab/vllm main at 96a85c575 (2026-04-21, "[Startup][UX] Enable CUDAGraph
 *   memory profiling by default (#38284)"; envs.py: "Enabled by default as of v0.21.0").
 * - v0.19.0 (released 2026-04-03): local-inference-lab/vllm main at 228023b3a (2026-04-05). Between v0.16 and it:
 *   vllm#33698 (2026-02-11, per-worker PP check), vllm#33538 (2026-02-17, Triton top-k/top-p), vllm#30515 and
 *   vllm#37426 (2026-03, CUDA-graph estimate computed but applied only with VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1,
 *   default 0 until vllm#38284 of 2026-04-21).
 * - v0.16.0: jinhuang12/vllm branch v0.16.0 (2d5be1dd, 2026-02-12).
 * - v0.11.0 (released 2025-10-02): local-inference-lab/vllm main at 3b7c20a6b (2025-10-01): the start snapshot
 *   after distributed init (vllm#25359), FlashInfer still the default sampler (vllm#26859 came 2025-10-14).
 * - v0.10.1: local-inference-lab/vllm main at 5f5664b3e (2025-08-17, the last commit before the
 *   v0.10.1 release of 2025-08-18; gpt-oss support, the logs below name gpu_worker.py:276 as that tree does).
 *
 * Per worker (one GPU), every version: requested = ceil(total × gpu_memory_utilization) where total is
 * what cudaMemGetInfo reports (vllm/v1/worker/utils.py request_memory; gpu_worker.py init_device), and
 * KV = requested − weights − torch activation peak of the profile run − non-torch increase since the
 * start snapshot (vllm/utils/mem_utils.py memory_profiling). The versions differ in:
 */
export const VLLM_VERSIONS = ["0.21.0", "0.19.0", "0.16.0", "0.11.0", "0.10.1"] as const;
export type VllmVersion = (typeof VLLM_VERSIONS)[number];

/**
 * Peak bytes per logit of the sampler pass, by top-k/top-p path (vllm/v1/sample/sampler.py: the bf16 logits 2
 * stay referenced by the caller, `logits.to(torch.float32)` 4, then):
 * - "pytorch-sort" (`apply_top_k_top_p_pytorch`): `logits.sort` values 4 and int64 indices 8, with PyTorch's
 *   segmented radix sort (ATen/native/cuda/SortStable.cu segmented_sort_pairs, ≥ 128 rows) allocating the int64
 *   reverse-index input 8 and cub's double buffers 4 + 8: 2 + 4 + 32 = 38 (the two gpt-oss-120b H100 logs,
 *   1024 × 201,088 logits, reconcile within 0.26 GiB);
 * - "flashinfer" (`flashinfer_sample` → flashinfer.sampling.top_k_top_p_sampling_from_logits, filter order
 *   "top_k_first"): `top_k_mask_logits` output 4 + `torch.softmax` probs 4: 2 + 4 + 8 = 14 (vllm-project/vllm
 *   v0.10.1 ops/topk_topp_sampler.py; flashinfer sampling.py);
 * - "triton" (vllm#33538, 2026-02-17: `apply_top_k_top_p_triton` masks in place): softmax probs 4 + the
 *   exponential draw of `random_sample` 4: 2 + 4 + 8 = 14, plus a cached min(SMs, rows) × vocab fp32 buffer (not
 *   modelled: ≤ 0.1 GiB).
 */
export const SAMPLER_BYTES_PER_LOGIT = { "pytorch-sort": 38, flashinfer: 14, triton: 14 } as const;
export type SamplerPath = keyof typeof SAMPLER_BYTES_PER_LOGIT;

/** The Triton kernel filters 8 rows or more; fewer are sorted (apply_top_k_top_p: `logits.shape[0] >= 8`, v0.19.0, v0.21.0). */
export const TRITON_SAMPLER_MIN_ROWS = 8;

/** The path the profile's sampler pass takes over `rows` rows (max_num_seqs, at most max_num_batched_tokens). */
export function samplerPathFor(accounting: VllmAccounting, rows: number): SamplerPath {
  return accounting.sampler === "triton" && rows < TRITON_SAMPLER_MIN_ROWS ? "pytorch-sort" : accounting.sampler;
}

export interface VllmAccounting {
  version: VllmVersion;
  /** The container image of this version (Docker Hub vllm/vllm-openai tags carry the leading "v"). */
  image: string;
  /** CacheConfig.gpu_memory_utilization default. */
  defaultGpuMemoryUtilization: number;
  /**
   * The start snapshot is taken before the distributed environment (NCCL communicators, custom
   * all-reduce buffers) is created, so their memory counts as non-torch increase and comes out of
   * the KV budget. Since vllm#25359 (2025-09-23, in v0.11.0) the snapshot is taken after it, so that
   * memory only has to fit beside the budget.
   */
  distributedInitInsideBudget: boolean;
  /**
   * `profile_cudagraph_memory()` runs and its estimate is subtracted from the KV budget
   * (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS default 1 since v0.21.0, vllm#38284). Before, graphs were
   * captured after the KV cache was allocated and lived beside the budget.
   */
  cudaGraphsInsideBudget: boolean;
  /**
   * How the "max seq len does not fit" check treats pipeline stages. "per-worker": each worker's own
   * layers against its own memory (v0.10.1 get_kv_cache_config per worker; v0.21.0
   * _project_kv_cache_groups_to_worker). "all-layers": the smallest worker's memory against the KV of
   * every layer of the model (v0.16.0 get_kv_cache_configs: `min(available_memory)` with the global
   * groups), the behaviour vllm#34076 reports as a bug.
   */
  pipelineContextCheck: "per-worker" | "all-layers";
  /**
   * How the profile run's sampler pass (`_dummy_sampler_run`: max_num_seqs rows × vocab, dummy top-k and top-p)
   * filters top-k/top-p in this version's image; its peak is SAMPLER_BYTES_PER_LOGIT of that path.
   */
  sampler: SamplerPath;
  /**
   * MXFP4 experts on Hopper: the Triton backend when the image has OpenAI's triton_kernels (built in since
   * vllm#28788, 2025-11-18), else Marlin (mxfp4.py get_mxfp4_backend: "not has_triton_kernels()" → MARLIN).
   */
  mxfp4HopperBackend: "marlin" | "triton";
  /**
   * The environment variables a user could set to change this accounting, and what the plan takes: their defaults
   * in this version's image (the rendered services never set them). Said in the plan (VllmSettings.environment).
   */
  environment: { name: string; value: string; effect: string }[];
  sources: string[];
}

/** VLLM_USE_FLASHINFER_SAMPLER unset, per sampler path of the image (TopKTopPSampler.__init__ of each version). */
const SAMPLER_ENV: { readonly [P in SamplerPath]: VllmAccounting["environment"][number] } = {
  flashinfer: { name: "VLLM_USE_FLASHINFER_SAMPLER", value: "unset", effect: "FlashInfer top-k/top-p, installed in the image (0: PyTorch sort)" },
  "pytorch-sort": { name: "VLLM_USE_FLASHINFER_SAMPLER", value: "unset", effect: "PyTorch sort top-k/top-p (1: FlashInfer)" },
  triton: { name: "VLLM_USE_FLASHINFER_SAMPLER", value: "unset", effect: `Triton top-k/top-p, a PyTorch sort below ${TRITON_SAMPLER_MIN_ROWS} sequences (1: FlashInfer)` },
};

/** The image, and the sampler's variable, follow from the rest; a version adds the variables only it has. */
const accounting = (a: Omit<VllmAccounting, "image" | "environment">, environment: VllmAccounting["environment"] = []): VllmAccounting => ({
  ...a,
  image: `vllm/vllm-openai:v${a.version}`,
  environment: [SAMPLER_ENV[a.sampler], ...environment],
});
/** vllm/envs.py since vllm#30515 (2026-03-07): "0" until vllm#38284 made it "1" (v0.21.0). */
const cudaGraphEstimate = (on: boolean): VllmAccounting["environment"][number] => ({
  name: "VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS",
  value: `unset (${on ? 1 : 0})`,
  effect: on ? "the CUDA-graph estimate comes out of the KV budget (0: graphs beside it)" : "CUDA graphs beside the KV budget (1: the estimate comes out of it)",
});

export const VLLM_ACCOUNTING: { readonly [V in VllmVersion]: VllmAccounting } = {
  "0.21.0": accounting({
    version: "0.21.0",
    defaultGpuMemoryUtilization: 0.92, // vllm#38284 changed config/cache.py Field(default=0.9) to 0.92
    distributedInitInsideBudget: false,
    cudaGraphsInsideBudget: true,
    pipelineContextCheck: "per-worker",
    sampler: "triton", // apply_top_k_top_p → apply_top_k_top_p_triton (in place) for ≥ 8 rows
    mxfp4HopperBackend: "triton",
    sources: [
      "local-inference-lab/vllm@96a85c575 vllm/v1/worker/gpu_worker.py determine_available_memory: requested − non_kv − cudagraph_memory_estimate_applied",
      "local-inference-lab/vllm@96a85c575 vllm/envs.py VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS default \"1\"; vllm/config/cache.py gpu_memory_utilization default 0.92",
      "local-inference-lab/vllm@96a85c575 vllm/v1/core/kv_cache_utils.py get_kv_cache_configs: per-worker check on projected groups",
    ],
  }, [cudaGraphEstimate(true)]),
  "0.19.0": accounting({
    version: "0.19.0",
    defaultGpuMemoryUtilization: 0.9, // vllm/config/cache.py Field(default=0.9)
    distributedInitInsideBudget: false,
    cudaGraphsInsideBudget: false, // estimated (profile_cudagraph_memory) but not subtracted: envs default "0"
    pipelineContextCheck: "per-worker",
    sampler: "triton",
    mxfp4HopperBackend: "triton",
    sources: [
      "local-inference-lab/vllm@228023b3a vllm/v1/worker/gpu_worker.py determine_available_memory: requested − non_kv − (estimate only if VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS)",
      "local-inference-lab/vllm@228023b3a vllm/v1/sample/ops/topk_topp_sampler.py apply_top_k_top_p → apply_top_k_top_p_triton for ≥ 8 rows; FlashInfer sampler opt-in",
      "local-inference-lab/vllm@c5a66d169 (vllm#33698) vllm/v1/core/kv_cache_utils.py: PP memory check per worker on projected groups",
    ],
  }, [cudaGraphEstimate(false)]),
  "0.16.0": accounting({
    version: "0.16.0",
    defaultGpuMemoryUtilization: 0.9,
    distributedInitInsideBudget: false,
    cudaGraphsInsideBudget: false,
    pipelineContextCheck: "all-layers",
    sampler: "pytorch-sort", // the FlashInfer sampler is opt-in (VLLM_USE_FLASHINFER_SAMPLER=1) since vllm#26859, 2025-10-14
    mxfp4HopperBackend: "triton", // "[mxfp4.py:165] Using Triton backend" in the v0.14.1 log of vllm#33155
    sources: [
      "jinhuang12/vllm@v0.16.0 vllm/v1/worker/gpu_worker.py init_device: init_worker_distributed_environment before MemorySnapshot (vllm#25359)",
      "jinhuang12/vllm@v0.16.0 vllm/v1/worker/gpu_worker.py determine_available_memory: requested − non_kv_cache_memory",
      "jinhuang12/vllm@v0.16.0 vllm/v1/core/kv_cache_utils.py get_kv_cache_configs: _check_enough_kv_cache_memory(min(available_memory), global groups)",
    ],
  }),
  "0.11.0": accounting({
    version: "0.11.0",
    defaultGpuMemoryUtilization: 0.9,
    distributedInitInsideBudget: false,
    cudaGraphsInsideBudget: false,
    pipelineContextCheck: "per-worker",
    // The image installs FlashInfer v0.3.1; TopKTopPSampler: VLLM_USE_FLASHINFER_SAMPLER None counts as on. Checked
    // against llm-d's one run stated as v0.11.0 (Mistral-Small-3.2-24B on H100: the sort would leave 9.6 % less KV).
    sampler: "flashinfer",
    mxfp4HopperBackend: "marlin", // no triton_kernels in the image before vllm#28788
    sources: [
      "local-inference-lab/vllm@3b7c20a6b vllm/v1/worker/gpu_worker.py init_device: init_worker_distributed_environment, then MemorySnapshot",
      "local-inference-lab/vllm@3b7c20a6b vllm/v1/core/kv_cache_utils.py get_kv_cache_configs: check_enough_kv_cache_memory per worker",
      "local-inference-lab/vllm@3b7c20a6b docker/Dockerfile FLASHINFER_GIT_REF v0.3.1; vllm/v1/sample/ops/topk_topp_sampler.py forward_cuda → flashinfer_sample",
    ],
  }),
  "0.10.1": accounting({
    version: "0.10.1",
    defaultGpuMemoryUtilization: 0.9,
    distributedInitInsideBudget: true,
    cudaGraphsInsideBudget: false,
    pipelineContextCheck: "per-worker",
    // The image ships FlashInfer (docker/Dockerfile builds FLASHINFER_GIT_REF v0.2.11; coreweave/ml-containers#107
    // matched "vLLM v0.10.1, flashinfer v0.2.11" for parity with vLLM's image) and V1 samples through it unless
    // VLLM_USE_FLASHINFER_SAMPLER=0 (TopKTopPSampler.__init__: None counts as on). The dennislee22 A100 logs are pip
    // installs that had FlashInfer (".local/lib/python3.11/site-packages"): they show that code path ("Using FlashInfer
    // for top-p & top-k sampling"), not the image. A pip install without FlashInfer (vllm#23278, the Ray A100 40GB
    // log: "FlashInfer is not available") takes the "pytorch-sort" path instead.
    sampler: "flashinfer",
    mxfp4HopperBackend: "marlin", // "leveraging the Marlin kernel" (vllm#23278)
    sources: [
      "local-inference-lab/vllm@5f5664b3e vllm/v1/worker/gpu_worker.py init_device: MemorySnapshot, then init_worker_distributed_environment",
      "local-inference-lab/vllm@5f5664b3e vllm/v1/core/kv_cache_utils.py get_kv_cache_config: check_enough_kv_cache_memory per worker",
      "local-inference-lab/vllm@5f5664b3e docker/Dockerfile: FlashInfer v0.2.11 built into the image; vllm/v1/sample/ops/topk_topp_sampler.py forward_cuda → flashinfer_sample",
    ],
  }),
};

/** The version the pinned image runs: plans are for it unless a model names another. */
export const DEFAULT_VLLM_VERSION: VllmVersion = "0.21.0";

const bare = (version: string) => version.trim().replace(/^v/, "");

export function findVllmVersion(version: string): VllmAccounting | undefined {
  const v = bare(version);
  return (VLLM_VERSIONS as readonly string[]).includes(v) ? VLLM_ACCOUNTING[v as VllmVersion] : undefined;
}

/**
 * Why a version findVllmVersion does not know is refused, and what to name instead. A patch release of a documented
 * minor (0.19.1, 0.10.1.1) is refused too, not planned as its minor: patches carry cherry-picked fixes, and memory
 * accounting is what such fixes change (vllm#25359, the snapshot after distributed init, was one), so only the
 * release whose source was read is modelled.
 */
export function vllmVersionRefusal(version: string): { message: string; fix: string } {
  const list = `use one of ${VLLM_VERSIONS.join(", ")} (default ${DEFAULT_VLLM_VERSION}, the pinned image), or remove engineVersion`;
  const parts = bare(version).split(".");
  if (parts.length < 3 || !parts.every((p) => /^\d+$/.test(p))) {
    return { message: `${JSON.stringify(version)} is not a vLLM release number (major.minor.patch): a floating tag would change the accounting under the plan`, fix: list };
  }
  const minor = parts.slice(0, 2).join(".");
  const documented = VLLM_VERSIONS.find((v) => v.startsWith(`${minor}.`));
  if (documented) {
    return {
      message: `vLLM ${version} is a patch release of ${minor}: the planner models ${documented}, whose memory accounting was read from its source, and a patch release may change it`,
      fix: `use engineVersion ${documented} (image ${VLLM_ACCOUNTING[documented].image}), or remove engineVersion for the pinned ${DEFAULT_VLLM_VERSION}`,
    };
  }
  return { message: `vLLM ${version} is not a version whose memory accounting the planner models`, fix: list };
}
