/**
 * GPUs the planner knows. Numbers come from reference/gpus.json (which names its upstream
 * sources) unless the source text says otherwise.
 *
 * memoryMiB is nvidia-smi's total, not the marketed size: an "80 GB" H100 reports 81559 MiB, a "24 GB"
 * A10G only 23028 MiB. cudaTotalBytes is smaller still: what CUDA (and torch) report, the total vLLM's
 * gpu_memory_utilization multiplies (vllm/v1/worker/utils.py request_memory; an H100 gives 79.18 GiB,
 * reference/gpu-measured.md). Each GPU says whether that figure was measured, logged or derived.
 */
import type { Gpu, GpuId } from "./types";

const REF = "reference/gpus.json";
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
/**
 * What the driver keeps back from CUDA on one GPU: nvidia-smi memory.total minus cudaMemGetInfo's total.
 * Measured on an H100 80GB HBM3 (reference/gpu-measured.md: 81,559 MiB vs 85,017,493,504 bytes = 480.4 MiB);
 * an RTX 4090 shows the same (24,564 MiB in nvidia-smi, "total capacity of 23.52 GiB" = 24,084 MiB in a torch
 * OOM message, https://github.com/Soul-AILab/SoulX-FlashTalk/issues/5). Used where no CUDA total was found.
 */
const DRIVER_RESERVED_MIB = 480;
const derived = (smiMiB: number): { cudaTotalBytes: number; cudaTotalSource: string } => ({
  cudaTotalBytes: (smiMiB - DRIVER_RESERVED_MIB) * MiB,
  cudaTotalSource: `derived: nvidia-smi ${smiMiB} MiB − ${DRIVER_RESERVED_MIB} MiB driver reserve (measured on H100 and RTX 4090; not measured on this GPU)`,
});
/** Public nvidia-smi outputs found with the code search index (file ids, the index gives no path). */
const SMI = "nvidia-smi total as printed in public nvidia-smi outputs, not in reference/gpus.json";

export const GPUS: { readonly [K in GpuId]: Gpu } = {
  // "H100" means the SXM part (what p5 carries); the H100 PCIe (2,000 GB/s, reference/gpus.json) is not catalogued.
  "H100-SXM": {
    id: "H100-SXM",
    name: "NVIDIA H100 SXM5 80GB",
    aliases: ["H100", "H100 SXM", "H100-SXM", "H100 SXM5", "H100 80GB", "H100 80GB HBM3", "NVIDIA H100 80GB HBM3"],
    memoryMiB: 81559,
    memorySource: `${SMI} ("NVIDIA H100 80GB HBM3 … / 81559MiB", index ids 53110424929, 71371932843)`,
    cudaTotalBytes: 85017493504,
    cudaTotalSource: "measured: torch.cuda.get_device_properties(0).total_memory = mem_get_info total = 85,017,493,504 bytes (79.18 GiB), driver 580 (reference/gpu-measured.md)",
    bandwidthGBs: 3350, // reference/gpus.json, glennklockwood.com/garden/processors/h100 (3.35 TB/s)
    bf16Tflops: 989.4, // reference/gpus.json: datasheet 1,979 sparse / 2
    fp8: true, // Hopper
    computeCapability: 9.0, // Hopper (NVIDIA CUDA GPUs list)
    nvlink: true, // SXM5 on NVSwitch (p5.48xlarge: 8 GPUs, 900 GB/s NVLink each)
    sources: [
      `${REF} H100-SXM: https://glennklockwood.com/garden/processors/h100`,
      `${REF} H100-SXM: https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html (NVIDIA datasheet reproduction)`,
    ],
  },
  "A100-40GB": {
    id: "A100-40GB",
    name: "NVIDIA A100 SXM4 40GB",
    aliases: ["A100 40GB", "A100-40GB", "A100-SXM4-40GB", "NVIDIA A100-SXM4-40GB"],
    memoryMiB: 40441,
    memorySource:
      `${REF} reported_total_memory: CUDA deviceQuery 40441 MiB (42405855232 bytes), ` +
      "https://upb-pc2.atlassian.net/wiki/spaces/PC2DOK/pages/1900609/NVIDIA+A100+40GB+with+NVLINK",
    cudaTotalBytes: 42405855232,
    cudaTotalSource: "CUDA deviceQuery totalGlobalMem 42,405,855,232 bytes (reference/gpus.json reported_total_memory); torch prints 39.50 GiB (https://github.com/TianheWu/CoSeR/issues/10)",
    bandwidthGBs: 1555, // reference/gpus.json, glennklockwood.com/garden/processors/A100 (NVIDIA A100 datasheet)
    bf16Tflops: 312, // reference/gpus.json: dense BF16 (624 sparse)
    fp8: false, // Ampere: no FP8 tensor cores
    computeCapability: 8.0, // Ampere (NVIDIA CUDA GPUs list)
    nvlink: true, // SXM4 on NVSwitch (p4d.24xlarge)
    sources: [
      `${REF} A100-40GB: https://glennklockwood.com/garden/processors/A100`,
      `${REF} A100-40GB: https://www.thundercompute.com/blog/nvidia-a100-specs-full-guide`,
    ],
  },
  "A100-80GB": {
    id: "A100-80GB",
    name: "NVIDIA A100 SXM4 80GB",
    aliases: ["A100 80GB", "A100-80GB", "A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"],
    memoryMiB: 81920,
    memorySource: `${SMI} ("… / 81920MiB" at 400 W, index id 68325002972; the A800 80GB prints the same)`,
    cudaTotalBytes: Math.round(79.25 * GiB),
    cudaTotalSource: "torch OOM message on an A800 80GB (the A100 80GB board for China): \"total capacity of 79.25 GiB\" (https://github.com/sgl-project/sglang/issues/1463); ±0.005 GiB",
    bandwidthGBs: 2039, // reference/gpus.json, thundercompute.com A100 guide (SXM 80GB; PCIe 80GB is 1,935)
    bf16Tflops: 312, // reference/gpus.json: "FLOPS were the same" as 40GB (glennklockwood.com)
    fp8: false, // Ampere
    computeCapability: 8.0, // Ampere (NVIDIA CUDA GPUs list)
    nvlink: true, // SXM4 on NVSwitch (p4de.24xlarge)
    sources: [
      `${REF} A100-80GB: https://www.thundercompute.com/blog/nvidia-a100-specs-full-guide`,
      `${REF} A100-80GB: https://glennklockwood.com/garden/processors/A100`,
    ],
  },
  "A100-80GB-PCIe": {
    id: "A100-80GB-PCIe",
    name: "NVIDIA A100 80GB PCIe",
    aliases: ["A100 80GB PCIe", "A100-80GB-PCIe", "A100-PCIE-80GB", "NVIDIA A100 80GB PCIe", "NVIDIA A100-PCIE-80GB"],
    memoryMiB: 81920,
    memorySource: `${SMI} ("NVIDIA A100 80GB PCIe … 437MiB /  81920MiB" at 300 W: github:stas00/ml-engineering compute/accelerator/nvidia/debug.md)`,
    // Two v0.10.1.1 logs of one server (dennislee22/vLLM-benchmarking log/vllm-7B-1gpuA10080GB-0.25GRAM.log and
    // -0.5GRAM.log, Qwen2-7B-Instruct): 5,867 and 29,053 blocks of 917,504 bytes at utilization 0.25 and 0.5, the
    // same weights and profile; the difference, 19.811 ± 0.001 GiB, is 0.25 × total. Measured from logs, not a datasheet;
    // within 0.005 GiB of the SXM board's independent 79.25 (catalog.test.ts).
    cudaTotalBytes: Math.round(79.245 * GiB),
    cudaTotalSource: "vLLM logs: 0.25 × total = 19.811 GiB between two vLLM runs at utilization 0.25 and 0.5 on one A100 80GB PCIe (dennislee22/vLLM-benchmarking logs); ±0.004 GiB",
    bandwidthGBs: 1935, // reference/gpus.json A100-80GB notes: "PCIe 80GB variant: 1,935 GB/s" (thundercompute.com A100 guide)
    bf16Tflops: 312, // reference/gpus.json: the same dense BF16 as the SXM board
    fp8: false, // Ampere
    computeCapability: 8.0, // Ampere (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe; an NVLink bridge exists but the logged server had none ("platform lacks GPU P2P capability")
    sources: [
      `${REF} A100-80GB notes: https://www.thundercompute.com/blog/nvidia-a100-specs-full-guide (A100 PCIe 80GB: 1,935 GB/s, 300 W)`,
      "https://github.com/dennislee22/vLLM-benchmarking (vLLM 0.10.1.1 start-up logs on A100 80GB PCIe)",
    ],
  },
  L40S: {
    id: "L40S",
    name: "NVIDIA L40S",
    aliases: ["L40S", "NVIDIA L40S"],
    memoryMiB: 46068,
    memorySource:
      `${SMI} ("NVIDIA L40S 3MiB / 46068MiB", index id 70310070431). reference/gpus.json other_reported_totals gives ` +
      "46068 MiB for the NVIDIA A40 (https://github.com/guqiong96/Lvllm/issues/35), the same 48 GB GDDR6 board class. " +
      "The EC2 API reports less (45776 MiB, reference/aws-instances.json g6e note); the driver figure is the one vLLM sees.",
    ...derived(46068),
    bandwidthGBs: 864, // reference/gpus.json: NVIDIA L40/L40S datasheet reproduction (mullet.se), omegaco.ae
    bf16Tflops: 362.05, // reference/gpus.json: datasheet dense figure (733 sparse)
    fp8: true, // Ada
    computeCapability: 8.9, // Ada (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe card without NVLink
    sources: [
      `${REF} L40S: https://www.mullet.se/product.html?product_id=355414 (NVIDIA L40/L40S datasheet reproduction)`,
      `${REF} L40S: https://omegaco.ae/shop/gpu-cards-edge-ai/nvidia-l40s`,
    ],
  },
  A10G: {
    id: "A10G",
    name: "NVIDIA A10G",
    aliases: ["A10G", "NVIDIA A10G"],
    memoryMiB: 23028,
    memorySource:
      `${SMI} ("NVIDIA A10G … / 23028MiB" on g5, index ids 21021056340, 10369262131). ` +
      "AWS docs say 24 GiB; the EC2 API says 22888 MiB since 2025-04 (reference/aws-instances.json g5 note).",
    ...derived(23028),
    bandwidthGBs: 600, // reference/gpus.json: baseten.co A10 vs A10G ("memory bandwidth of 600 gigabytes per second")
    bf16Tflops: null, // reference/gpus.json: NOT FOUND (the A10's 125 is not the A10G's)
    fp8: false, // Ampere
    computeCapability: 8.6, // Ampere (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe card without NVLink
    sources: [`${REF} A10G: https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/`],
  },
  L4: {
    id: "L4",
    name: "NVIDIA L4",
    aliases: ["L4", "NVIDIA L4"],
    memoryMiB: 23034,
    memorySource: `${SMI} ("NVIDIA L4 … / 23034MiB", index ids 1415866014, 6156316717)`,
    ...derived(23034),
    bandwidthGBs: 300, // reference/gpus.json: NVIDIA L4 datasheet as quoted by grokipedia.com; sourcecode.com
    bf16Tflops: 121, // reference/gpus.json: datasheet 242 sparse / 2
    fp8: true, // Ada
    computeCapability: 8.9, // Ada (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe card without NVLink
    sources: [
      `${REF} L4: https://grokipedia.com/page/NVIDIA_L4_vs_L40S (quoting the NVIDIA L4 datasheet)`,
      `${REF} L4: https://store.sourcecode.com/en-us/bg-bucket-compare/125/9820`,
    ],
  },
  T4: {
    id: "T4",
    name: "NVIDIA T4",
    aliases: ["T4", "Tesla T4", "NVIDIA T4"],
    memoryMiB: 15360,
    memorySource: `${SMI} ("Tesla T4 … / 15360MiB", index ids 8522394492, 35156577386)`,
    ...derived(15360),
    bandwidthGBs: 320, // NVIDIA T4 product page spec (320 GB/s GDDR6), not in reference/gpus.json
    bf16Tflops: null, // Turing has no BF16 tensor cores; no source in reference/gpus.json
    fp8: false, // Turing
    computeCapability: 7.5, // Turing (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe card without NVLink
    sources: [
      "NVIDIA T4 product page spec (16 GB GDDR6, 320 GB/s), not in reference/gpus.json",
      "reference/aws-instances.json g4dn: 'Each GPU has 16 GiB of GDDR6 memory' (awsdocs-ec2-ug-2023)",
    ],
  },
  "RTX-3090": {
    id: "RTX-3090",
    name: "NVIDIA GeForce RTX 3090",
    aliases: ["RTX 3090", "GeForce RTX 3090", "NVIDIA GeForce RTX 3090", "3090"],
    memoryMiB: 24146,
    memorySource:
      `${REF} reported_total_memory: 23.58 GiB torch total_gpu_memory in a vLLM profiling log ` +
      "(https://github.com/vllm-project/vllm/issues/10517); 23.58 × 1024 = 24146 MiB (±5 MiB: the log rounds to 0.01 GiB)",
    cudaTotalBytes: Math.round(23.58 * GiB),
    cudaTotalSource: "vLLM profiling log total_gpu_memory 23.58 GiB (https://github.com/vllm-project/vllm/issues/10517); ±0.005 GiB",
    bandwidthGBs: 936, // reference/gpus.json: gpu_poor gpu_config.json (third-party), GA102 whitepaper named
    bf16Tflops: null, // reference/gpus.json: NOT FOUND (GA102 whitepaper Appendix A not captured)
    fp8: false, // Ampere
    computeCapability: 8.6, // Ampere (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe; a 2-way NVLink bridge exists for this card but is not assumed
    sources: [
      `${REF} RTX-3090: github:RahulSChand/gpu_poor@ad2fc0e:src/gpu_config.json`,
      `${REF} RTX-3090: https://github.com/vllm-project/vllm/issues/10517`,
    ],
  },
  "RTX-4090": {
    id: "RTX-4090",
    name: "NVIDIA GeForce RTX 4090",
    aliases: ["RTX 4090", "GeForce RTX 4090", "NVIDIA GeForce RTX 4090", "4090"],
    memoryMiB: 24564,
    memorySource: `${SMI} ("GeForce RTX 4090 … / 24564MiB", index ids 48135459847, 54500932416)`,
    cudaTotalBytes: Math.round(23.52 * GiB),
    cudaTotalSource: "torch OOM message \"GPU 0 has a total capacity of 23.52 GiB\" on an RTX 4090 (https://github.com/Soul-AILab/SoulX-FlashTalk/issues/5); ±0.005 GiB",
    bandwidthGBs: 1008, // reference/gpus.json: waredb.com, third-party copy of NVIDIA spec (384-bit, 21 Gbps)
    bf16Tflops: 165.15, // reference/gpus.json: dense BF16 with FP32 accumulate (third-party copies of the Ada whitepaper)
    fp8: true, // Ada
    computeCapability: 8.9, // Ada (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe; no NVLink on this generation of GeForce
    sources: [
      `${REF} RTX-4090: https://waredb.com/processor/nvidia-geforce-rtx-4090`,
      `${REF} RTX-4090: https://holynerdvana.blogspot.com/2022/10/nvidia-geforce-rtx-4090-specifications.html`,
    ],
  },
  "RTX-5070-Ti": {
    id: "RTX-5070-Ti",
    name: "NVIDIA GeForce RTX 5070 Ti",
    aliases: ["RTX 5070 Ti", "GeForce RTX 5070 Ti", "NVIDIA GeForce RTX 5070 Ti", "5070 Ti"],
    memoryMiB: 16303,
    memorySource: `${REF} reported_total_memory: nvidia-smi 'NVIDIA GeForce RTX 5070 Ti 16303MiB' in https://github.com/vllm-project/vllm/issues/34076`,
    ...derived(16303),
    bandwidthGBs: 896, // NVIDIA RTX 5070 Ti spec (16 GB GDDR7, 256-bit, 28 Gbps), not in reference/gpus.json (NOT FOUND there)
    bf16Tflops: null, // reference/gpus.json: NOT FOUND
    fp8: true, // Blackwell
    computeCapability: 12.0, // Blackwell (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe; no NVLink on GeForce Blackwell
    sources: [
      `${REF} RTX-5070-Ti: https://github.com/vllm-project/vllm/issues/34076`,
      "NVIDIA GeForce RTX 5070 Ti product page spec (896 GB/s), not in reference/gpus.json",
    ],
  },
  "RTX-5090": {
    id: "RTX-5090",
    name: "NVIDIA GeForce RTX 5090",
    aliases: ["RTX 5090", "GeForce RTX 5090", "NVIDIA GeForce RTX 5090", "5090"],
    memoryMiB: 32607,
    memorySource:
      `${REF} other_reported_totals: 'RTX 5090 D' 32607 MiB (https://github.com/vllm-project/vllm/issues/34076); ` +
      `the RTX 5090 prints the same ("NVIDIA GeForce RTX 5090 … / 32607MiB", index id 34759949062)`,
    ...derived(32607),
    bandwidthGBs: 1792, // NVIDIA RTX 5090 spec (32 GB GDDR7, 512-bit, 28 Gbps), not in reference/gpus.json
    bf16Tflops: null, // not in reference/gpus.json
    fp8: true, // Blackwell
    computeCapability: 12.0, // Blackwell (NVIDIA CUDA GPUs list)
    nvlink: false, // PCIe; no NVLink on GeForce Blackwell
    sources: [
      `${REF} other_reported_totals: https://github.com/vllm-project/vllm/issues/34076`,
      "NVIDIA GeForce RTX 5090 product page spec (1792 GB/s), not in reference/gpus.json",
    ],
  },
};

/** Lower case, no spaces, dashes or underscores: "rtx-5070 ti" and "RTX 5070 Ti" compare equal. */
function normalizeGpuName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, "");
}

const GPU_BY_NAME: ReadonlyMap<string, Gpu> = new Map(
  Object.values(GPUS).flatMap((gpu) =>
    [gpu.id, gpu.name, ...gpu.aliases].map((n): [string, Gpu] => [normalizeGpuName(n), gpu]),
  ),
);

/** The GPU a spec names by id, marketing name or alias; undefined when unknown (callers report it). */
export function findGpu(name: string): Gpu | undefined {
  return GPU_BY_NAME.get(normalizeGpuName(name));
}

/** The preferred spec name of each GPU (its first alias), for "accepted: …" in error messages. */
export const GPU_NAMES: string[] = Object.values(GPUS).map((gpu) => gpu.aliases[0] ?? gpu.id);
