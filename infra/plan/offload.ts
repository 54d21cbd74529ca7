/**
 * llama.cpp server and Ollama replicas: one machine, layers on GPUs as far as they fit and the
 * rest in RAM (memory-math.md §c, §d). llama.cpp counts n_layer + 1 slots (the output layer
 * is one) and offloads from the last layer backwards; the token embeddings stay on the CPU.
 * KV cells sit with their layer's device; `--ctx-size` is the total over all slots.
 */
import { KV_CACHE_FLAG_VALUE } from "../catalog/quantization";
import { MiB, kvBytesPerToken, kvBytesPerTokenPerLayer, round, toGiB } from "./arch";
import { proportionalSplit } from "./split";
import { OS_RESERVED_RAM_BYTES, replicaGpus } from "./nodes";
import type { Claims, ReplicaDraft, ReplicaInput } from "./replica";
import type { StagePlan } from "./types";

/**
 * Memory left free on every GPU: llama.cpp's `--fit-target` default margin (memory-math.md §c
 * "Auto-fit"). Ollama ≥ 0.30 (the pinned image is 0.32) runs GGUF models in upstream llama-server
 * with the same fit margin (memory-math.md §d.3), so both engines keep it.
 */
const GPU_MARGIN_BYTES = 1024 * MiB;
/** llama-server defaults: --batch-size 2048, --ubatch-size 512 (llama-server-args.json). */
const BATCH_SIZE = 2048;
const UBATCH_SIZE = 512;
/** llama-server pads each slot's context to a multiple of 256 (llama-server-observed.md §4). */
const SLOT_PAD = 256;
/** Context per slot the planner chooses when the weights alone overflow the GPUs (Ollama's own default below 23 GiB VRAM). */
const PARTIAL_OFFLOAD_CONTEXT = 4096;

const pad = (n: number) => Math.ceil(n / SLOT_PAD) * SLOT_PAD;

interface Fit {
  /** Decoder layers per GPU, in GPU order (each a contiguous range; the last GPU holds the highest layers). */
  gpuLayers: number[];
  outputOnGpu: boolean;
  cpuLayers: number;
  /** Bytes each GPU uses; bytes in RAM. */
  gpuBytes: number[];
  ramBytes: number;
}

export function planOffloadReplica(input: ReplicaInput, engine: "llamacpp" | "ollama"): { draft: ReplicaDraft; claims: Claims } | null {
  const { model, path, replica, arch, weights: w, issues } = input;
  const before = issues.length;
  const node = input.nodes.get(replica.nodes[0]!)!;
  const { gpus, ok } = replicaGpus(node, replica.gpus, path, issues);
  if (!ok) return null;
  const parallel = model.concurrency ?? (engine === "ollama" || gpus.length === 0 ? 1 : 4);
  const kvLayerBytes = kvBytesPerTokenPerLayer(arch, arch.numKeyValueHeads, input.kvCacheDtype);
  const computeBytes = UBATCH_SIZE * (4 * arch.hiddenSize + 2 * arch.intermediateSize) * 4;
  const reserve = GPU_MARGIN_BYTES + computeBytes;
  const outputBuffer = (slots: number) => slots * arch.vocabSize * 4;

  const fit = (ctxTotal: number): Fit => {
    const perLayer = w.layer + kvLayerBytes * ctxTotal;
    const caps = gpus.map((g) => input.capacity.gpuBytes(node.spec.name, g.index) - reserve);
    const last = caps.length - 1;
    const outputOnGpu = last >= 0 && caps[last]! >= w.lmHead + outputBuffer(parallel);
    if (!outputOnGpu) {
      return { gpuLayers: gpus.map(() => 0), outputOnGpu, cpuLayers: arch.numLayers, gpuBytes: gpus.map(() => 0), ramBytes: w.embeddings + w.lmHead + arch.numLayers * perLayer + computeBytes };
    }
    caps[last]! -= w.lmHead + outputBuffer(parallel);
    const room = caps.map((c) => Math.max(0, Math.floor(c / perLayer)));
    const onGpu = Math.min(arch.numLayers, room.reduce((s, n) => s + n, 0));
    let gpuLayers = room;
    if (onGpu < room.reduce((s, n) => s + n, 0)) gpuLayers = onGpu === 0 ? room.map(() => 0) : proportionalSplit(onGpu, room).map((n, i) => Math.min(n, room[i]!));
    const placed = gpuLayers.reduce((s, n) => s + n, 0);
    const cpuLayers = arch.numLayers - placed;
    return {
      gpuLayers,
      outputOnGpu,
      cpuLayers,
      gpuBytes: gpuLayers.map((n, i) => n * perLayer + reserve + (i === last ? w.lmHead + outputBuffer(parallel) : 0)),
      ramBytes: w.embeddings + cpuLayers * perLayer + (cpuLayers > 0 ? computeBytes : 0),
    };
  };
  const allOnGpu = (f: Fit) => f.outputOnGpu && f.cpuLayers === 0;
  const freeRam = input.capacity.ramBytes(node.spec.name);
  const ramFits = (f: Fit) => f.ramBytes <= freeRam;

  const maxPos = arch.maxPositionEmbeddings;
  const notes: string[] = [];
  let perSlot: number;
  if (model.contextLength !== undefined) {
    perSlot = model.contextLength;
    if (perSlot > maxPos) {
      issues.push({ path: `${input.modelPath}.contextLength`, message: `${perSlot} is beyond the model's trained maximum of ${maxPos} tokens (llama-server only warns and degrades)`, fix: `use at most ${maxPos}` });
      return null;
    }
  } else {
    // Largest context per slot that keeps the current placement: all on GPU when the weights fit there, else in RAM.
    const largest = (ok: (f: Fit) => boolean): number => {
      let lo = 0;
      let hi = Math.floor(maxPos / SLOT_PAD);
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (ok(fit(parallel * mid * SLOT_PAD))) lo = mid;
        else hi = mid - 1;
      }
      return lo * SLOT_PAD;
    };
    if (gpus.length > 0 && allOnGpu(fit(parallel * SLOT_PAD))) {
      perSlot = largest(allOnGpu);
      notes.push(perSlot === maxPos ? `context ${perSlot} per slot: the model's maximum, all on GPU` : `context ${perSlot} per slot: the most that keeps every layer on the GPU`);
    } else if (gpus.length > 0) {
      perSlot = Math.min(maxPos, PARTIAL_OFFLOAD_CONTEXT);
      notes.push(`partial offload: the weights alone overflow the GPU; context ${perSlot} per slot chosen (set contextLength to change)`);
    } else {
      perSlot = largest(ramFits);
      notes.push(`context ${perSlot} per slot: ${perSlot === maxPos ? "the model's maximum" : "the most that fits in RAM"}`);
    }
    if (perSlot === 0) perSlot = SLOT_PAD;
  }
  const ctxTotal = parallel * pad(perSlot);
  const f = fit(ctxTotal);

  if (!ramFits(f)) {
    const ramGiB = node.cpu ? node.cpu.memoryGiB : 0;
    issues.push({
      path,
      message: `does not fit: ${f.cpuLayers} of ${arch.numLayers} layers, the embeddings and their KV cache need ${round(toGiB(f.ramBytes))} GiB of RAM on ${node.spec.name}; ${round(toGiB(freeRam))} GiB is free (${ramGiB} GiB less ${toGiB(OS_RESERVED_RAM_BYTES)} for the OS and earlier replicas)`,
      fix: `use a smaller quantization (e.g. Q4_K_M), a shorter contextLength (${perSlot} now), fewer parallel slots (${parallel}), kvCacheDtype q8_0, or a machine with more GPU memory or RAM`,
    });
  }
  const cpuBandwidth = node.cpu?.bandwidthGBs ?? null;
  if (f.cpuLayers > 0 && !node.cpu) {
    issues.push({ path: `nodes[${input.nodeIndex(node.spec.name)}].cpu`, message: `${f.cpuLayers} layers of ${model.id} run on the CPU of ${node.spec.name}, whose cores and memory are not given`, fix: "add cpu: { cores, memoryGiB, bandwidthGBs } (RAM bounds what fits, bandwidth the CPU decode speed)" });
  }
  if (f.cpuLayers > 0 && node.cpu?.bandwidthAssumed) {
    notes.push(`assumed ${node.cpu.bandwidthGBs} GB/s CPU memory bandwidth on ${node.spec.name} for the decode bound: set nodes[${input.nodeIndex(node.spec.name)}].cpu.bandwidthGBs`);
  }
  if (issues.length > before) return null;


  // Stages: CPU layers first (llama.cpp keeps the lowest layers off the GPU), then each GPU's range.
  const stages: StagePlan[] = [];
  let start = 0;
  const kvGiB = (layers: number) => round(toGiB(layers * kvLayerBytes * ctxTotal));
  if (f.cpuLayers > 0 || gpus.length === 0) {
    stages.push({ node: node.spec.name, gpus: [], gpuModel: null, layers: [0, f.cpuLayers], holdsEmbeddings: true, holdsLmHead: !f.outputOnGpu, weightsGiBPerGpu: round(toGiB(f.cpuLayers * w.layer + w.embeddings)), kvCacheGiBPerGpu: kvGiB(f.cpuLayers), budgetGiBPerGpu: round(toGiB(freeRam)) });
    start = f.cpuLayers;
  }
  gpus.forEach((g, i) => {
    const n = f.gpuLayers[i]!;
    const last = i === gpus.length - 1;
    stages.push({ node: node.spec.name, gpus: [g.index], gpuModel: g.gpu.id, layers: [start, start + n], holdsEmbeddings: false, holdsLmHead: last && f.outputOnGpu, weightsGiBPerGpu: round(toGiB(n * w.layer + (last && f.outputOnGpu ? w.lmHead : 0))), kvCacheGiBPerGpu: kvGiB(n), budgetGiBPerGpu: round(toGiB(g.gpu.memoryMiB * MiB - reserve)) });
    start += n;
  });

  const gpuLayerTotal = f.gpuLayers.reduce((s, n) => s + n, 0);
  const nGpuLayers = gpuLayerTotal + (f.outputOnGpu ? 1 : 0);
  const vram = f.gpuBytes.reduce((s, b) => s + b, 0);
  const secondsPerToken =
    f.gpuLayers.reduce((t, n, i) => t + (n * w.layerActive + (i === gpus.length - 1 && f.outputOnGpu ? w.lmHead : 0)) / (gpus[i]!.gpu.bandwidthGBs * 1e9), 0) +
    (f.cpuLayers * w.layerActive + (f.outputOnGpu ? 0 : w.lmHead)) / ((cpuBandwidth ?? Infinity) * 1e9);
  // Flash attention always: without it the compute buffer also holds the attention scores,
  // n_ctx × n_ubatch × n_head × 4 bytes (4.3 GB for a 64-head model at 32k), which the memory model
  // above does not reserve; and a quantized V cache requires it (llama-server-observed.md §7).
  // llama.cpp runs it on CUDA and CPU alike.
  const flashAttention = true;
  const kvFlag = KV_CACHE_FLAG_VALUE[engine][input.kvCacheDtype] ?? "f16";
  if (f.cpuLayers > 0 && gpus.length > 0) notes.push(`${f.cpuLayers} of ${arch.numLayers} layers in RAM: decode is bound by CPU memory bandwidth`);

  const draft: ReplicaDraft = {
    index: input.index,
    nodes: replica.nodes,
    stages,
    tensorParallel: 1,
    pipelineParallel: 1,
    layerSplit: stages.map((s) => s.layers[1] - s.layers[0]),
    weightsGiB: round(toGiB(arch.numLayers * w.layer + w.embeddings + w.lmHead)),
    kvBytesPerToken: kvBytesPerToken(arch, input.kvCacheDtype),
    kvCacheGiB: round(toGiB(arch.numLayers * kvLayerBytes * ctxTotal)),
    kvCacheTokens: ctxTotal,
    contextLength: pad(perSlot),
    maxConcurrentSequences: parallel,
    gpuLayers: nGpuLayers,
    totalLayers: arch.numLayers + 1,
    // `ollama ps` counts the token embeddings (looked up on the CPU, never offloaded) as on-GPU when every layer is.
    gpuFraction: round(vram / (vram + f.ramBytes - (gpus.length > 0 ? w.embeddings : 0)), 2),
    decodeTokensPerSecond: round(1 / secondsPerToken, 1),
    endpointNode: node.spec.name,
    weight: replica.weight,
    notes,
    ...(engine === "llamacpp"
      ? {
          llamacpp: {
            nGpuLayers,
            // -ts proportions over the n_gpu_layers slots: the output layer counts on the last GPU.
            tensorSplit: gpus.length > 1 ? f.gpuLayers.map((n, i) => n + (i === gpus.length - 1 && f.outputOnGpu ? 1 : 0)) : [],
            ctxSize: ctxTotal,
            parallel,
            threads: node.cpu?.cores ?? null,
            batchSize: BATCH_SIZE,
            ubatchSize: UBATCH_SIZE,
            cacheType: kvFlag,
            flashAttention,
          },
        }
      : { ollama: { numGpu: nGpuLayers, numCtx: pad(perSlot), numParallel: parallel, kvCacheType: kvFlag, flashAttention } }),
  };
  const claims: Claims = {
    gpus: f.gpuBytes.map((bytes, i) => ({ node: node.spec.name, index: gpus[i]!.index, bytes })),
    ramBytes: [{ node: node.spec.name, bytes: f.ramBytes }],
  };
  return { draft, claims };
}
