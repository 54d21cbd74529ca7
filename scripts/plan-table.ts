/** The human-readable view of a FleetPlan: one table for models, one for nodes. */
import type { FleetPlan, ModelPlan, ReplicaPlan } from "../infra/plan/types";
import { USAGE_POLL_MS } from "../infra/render/usage/gateway";

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** A tier as the failover note shows it: its model id and its upstream limits, e.g. "cloud (30/min, 1000/day, timeout 20 s)". */
function tierText(plan: FleetPlan, id: string): string {
  const l = plan.spec.models.find((m) => m.id === id)?.limits;
  if (!l) return id;
  const parts = [
    l.requestsPerMinute !== undefined ? `${l.requestsPerMinute}/min` : null,
    l.requestsPerDay !== undefined ? `${l.requestsPerDay}/day` : null,
    l.timeoutSeconds !== undefined ? `timeout ${l.timeoutSeconds} s` : null,
  ].filter((p): p is string => p !== null);
  return `${id} (${parts.join(", ")})`;
}

const gib = (x: number) => `${x.toFixed(1)} GiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const usd = (x: number) => `$${x.toFixed(2)}`;

function stagesText(r: ReplicaPlan): string {
  return r.stages
    .map((s) => `${s.node}[${s.gpuModel ? `${s.gpus.length > 1 ? `${s.gpus.length}×` : ""}${s.gpuModel}` : "CPU"}]`)
    .join(" → ");
}

function replicaRow(m: ModelPlan, r: ReplicaPlan): string[] {
  return [
    m.id,
    // The engine version whose memory accounting the plan follows (vLLM), e.g. "vllm 0.21.0".
    m.engine !== "external" && m.engineVersion ? `${m.engine} ${m.engineVersion}` : m.engine,
    String(r.index),
    stagesText(r),
    `${r.tensorParallel}/${r.pipelineParallel}`,
    r.layerSplit.join("-"),
    gib(r.weightsGiB),
    kib(r.kvBytesPerToken),
    gib(r.kvCacheGiB),
    String(r.contextLength),
    String(r.maxConcurrentSequences),
    `${r.gpuLayers}/${r.totalLayers} ${Math.round(r.gpuFraction * 100)}%`,
    r.decodeTokensPerSecond.toFixed(1),
    usd(r.costPerHourUSD),
  ];
}

export function formatPlan(plan: FleetPlan, label: string): string {
  const t = plan.totals;
  const out: string[] = [
    `fleet ${plan.name} (${label}): ${t.nodes} nodes, ${t.gpus} GPUs, ${t.models} models, ${t.replicas} replicas, ${usd(t.costPerHourUSD)}/hour`,
    "",
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const m of plan.models) {
    if (m.engine === "external") {
      rows.push([m.id, "external", "-", `${m.upstreamModel} @ ${new URL(m.url).host}`, "", "", "", "", "", m.contextLength ? String(m.contextLength) : "?", "", "", "", ""]);
    }
    for (const r of m.replicas) {
      rows.push(replicaRow(m, r));
      for (const n of r.notes) notes.push(`  ${m.id}[${r.index}]: ${n}`);
    }
    if (m.tiers.length > 0) {
      const tiers = m.tiers.map((id) => `${tierText(plan, id)}${m.anyKeyTiers.includes(id) ? " [every key]" : ""}`);
      notes.push(`  ${m.id}: failover ${[tierText(plan, m.id), ...tiers].join(" → ")}`);
    }
    else if (plan.spec.models.find((s) => s.id === m.id)?.limits) notes.push(`  ${m.id}: limits ${tierText(plan, m.id)}`);
  }
  // Once per vLLM version in use: the defaults of its image the memory accounting takes (VllmSettings.environment).
  const versions = new Map(plan.models.flatMap((m) => m.replicas.flatMap((r) => (r.vllm ? [[r.vllm.engineVersion, r.vllm.environment] as const] : []))));
  for (const [version, environment] of versions) notes.push(`  vllm ${version} memory with the image's defaults: ${environment.join("; ")}`);
  if (plan.spec.models.some((m) => m.limits?.requestsPerMinute !== undefined || m.limits?.requestsPerDay !== undefined)) {
    notes.push(`  request limits count each request as the gateway sends it; up to ${USAGE_POLL_MS / 1000} s of further requests may pass before a used-up limit takes effect (README "How far enforcement lags")`);
  }
  out.push(table(["MODEL", "ENGINE", "REPLICA", "STAGES", "TP/PP", "SPLIT", "WEIGHTS", "KV/TOKEN", "KV CACHE", "CONTEXT", "SEQS", "GPU LAYERS", "TOK/S≤", "$/HOUR"], rows));
  if (notes.length) out.push("", "notes:", ...notes);
  out.push("");
  out.push(
    table(
      ["NODE", "PROVIDER", "TYPE", "GPUS", "ADDRESS", "DISK", "$/HOUR", "SERVES"],
      plan.nodes.map((n) => [
        n.name,
        n.provider,
        n.instanceType ?? "-",
        n.gpus.length ? n.gpus.join(",") : "CPU",
        n.address,
        `${n.diskGiB} GiB`,
        usd(n.costPerHourUSD),
        n.placements.map((p) => `${p.model}#${p.replica}:${p.port}`).join(" "),
      ]),
    ),
  );
  out.push("", "TOK/S≤: single-stream decode upper bound from memory bandwidth (weights read once per token).");
  return out.join("\n");
}

/** The plan as JSON for tools: everything but the echoed spec. */
export function planToJson(plan: FleetPlan): unknown {
  const { spec: _spec, ...rest } = plan;
  return {
    ...rest,
    nodes: plan.nodes.map(({ spec: _s, ...n }) => n),
    models: plan.models.map((m) => (m.engine === "external" ? (({ spec: _m, ...e }) => e)(m) : m)),
  };
}
