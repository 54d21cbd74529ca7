/**
 * vLLM launches as a user would check them: the plan's layer split reaches
 * VLLM_PP_LAYER_PARTITION exactly, a multi-node replica is one Ray head + its workers + one
 * `vllm serve`, and every replica is launched once under its fleet id on its planned port.
 */
import { describe, expect, it } from "vitest";
import type { ServedModelPlan } from "../../infra/plan";
import { clusterPorts, renderFleet, RAY_PORTS } from "../../infra/render";
import { rayMembership } from "../../infra/render/ray";
import { argValue, composeServices, nodesOf, renderedFleets, vllmLaunches, workstationPlan } from "./support";

const fleets = renderedFleets();
const mixed = fleets.find((f) => f.name === "mixed-gpu-vllm")!;

function served(plan: { models: { engine: string }[] }, engine: string): ServedModelPlan[] {
  return plan.models.filter((m) => m.engine === engine) as ServedModelPlan[];
}

describe("the mixed-GPU example's 23-23-22-12 split", () => {
  const r1 = served(mixed.plan, "vllm").find((m) => m.id === "deepseek-r1-70b")!;
  const replica = r1.replicas[0]!;

  it("is the plan's split, and it covers the model's layers", () => {
    expect(replica.layerSplit).toEqual([23, 23, 22, 12]);
    expect(replica.layerSplit.reduce((a, b) => a + b, 0)).toBe(r1.arch.numLayers);
  });

  it("reaches VLLM_PP_LAYER_PARTITION exactly, with a matching --pipeline-parallel-size", () => {
    const head = composeServices(mixed.artifacts, "r1-l40s-1")["vllm-deepseek-r1-70b-r0"]!;
    expect(head.environment.VLLM_PP_LAYER_PARTITION).toBe("23,23,22,12");
    expect(argValue(head.command!, "--pipeline-parallel-size")).toBe("4");
    expect(argValue(head.command!, "--tensor-parallel-size")).toBe("1");
  });

  it("puts each stage on the node the plan gave it, in stage order (the A10G takes the 12)", () => {
    expect(replica.stages.map((s) => s.node)).toEqual(["r1-l40s-1", "r1-l40s-2", "r1-l40s-3", "r1-a10g"]);
    expect(Object.keys(composeServices(mixed.artifacts, "r1-a10g"))).toEqual(["ray-deepseek-r1-70b-r0-s3"]);
  });
});

describe.each(fleets)("$name", ({ plan, artifacts }) => {
  const vllmModels = served(plan, "vllm");
  const launchesOf = (id: string) =>
    nodesOf(artifacts).flatMap((node) => vllmLaunches(artifacts, node).filter((l) => argValue(l.args, "--served-model-name") === id).map((l) => ({ node, ...l })));

  it.runIf(vllmModels.length > 0)("launches every vLLM replica once, under its id and aliases, on its planned port", () => {
    for (const model of vllmModels) {
      const launches = launchesOf(model.id);
      expect(launches).toHaveLength(model.replicas.length);
      for (const replica of model.replicas) {
        const launch = launches.find((l) => l.node === replica.endpoint.node && argValue(l.args, "--port") === String(replica.endpoint.port))!;
        expect(launch, `${model.id} r${replica.index}`).toBeDefined();
        const names = launch.args.slice(launch.args.indexOf("--served-model-name") + 1);
        expect(names.slice(0, 1 + model.aliases.length)).toEqual([model.id, ...model.aliases]);
        expect(argValue(launch.args, "--max-model-len")).toBe(String(replica.contextLength));
        expect(argValue(launch.args, "--max-num-seqs")).toBe(String(replica.vllm!.maxNumSeqs));
        expect(argValue(launch.args, "--gpu-memory-utilization")).toBe(String(replica.vllm!.gpuMemoryUtilization));
        expect(argValue(launch.args, "--kv-cache-dtype")).toBe(replica.vllm!.kvCacheDtype);
        expect(argValue(launch.args, "--quantization")).toBe(replica.vllm!.quantization ?? undefined);
        expect(argValue(launch.args, "--tensor-parallel-size")).toBe(String(replica.tensorParallel));
        const service = composeServices(artifacts, launch.node)[launch.service]!;
        if (service.network_mode !== "host") expect(service.ports).toEqual([`${replica.endpoint.port}:${replica.endpoint.port}`]);
        expect(service.environment.VLLM_PP_LAYER_PARTITION).toBe(replica.pipelineParallel > 1 ? replica.layerSplit.join(",") : undefined);
      }
    }
  });

  it.runIf(vllmModels.length > 0)("passes sampling defaults through --override-generation-config, in vLLM's key names", () => {
    for (const model of vllmModels) {
      for (const launch of launchesOf(model.id)) {
        const json = argValue(launch.args, "--override-generation-config");
        const s = model.sampling;
        const expected = Object.fromEntries(
          ([["temperature", s.temperature], ["top_p", s.topP], ["top_k", s.topK], ["min_p", s.minP], ["repetition_penalty", s.repetitionPenalty]] as const).filter(([, v]) => v !== undefined),
        );
        if (Object.keys(expected).length === 0) expect(json).toBeUndefined();
        else expect(JSON.parse(json!)).toEqual(expected);
      }
    }
  });

  const multiNode = vllmModels.flatMap((m) => m.replicas.filter((r) => new Set(r.nodes).size > 1).map((r) => ({ model: m, replica: r })));
  it.runIf(multiNode.length > 0).each(multiNode.map((x) => [`${x.model.id} r${x.replica.index}`, x] as const))(
    "%s: a Ray head on stage 0, one worker per other stage, exactly one vllm serve",
    (_label, { model, replica }) => {
      const launches = launchesOf(model.id);
      expect(launches).toHaveLength(1);
      const [launch] = launches;
      expect(launch!.node).toBe(replica.stages[0]!.node);
      expect(argValue(launch!.args, "--distributed-executor-backend")).toBe("ray");
      const head = composeServices(artifacts, launch!.node)[launch!.service]!;
      expect(head.network_mode).toBe("host");
      const headScript = artifacts[`${launch!.node}/ray/${launch!.service}.head.sh`]!.contents;
      expect(headScript).toMatch(/^ray start --node-ip-address="\$VLLM_HOST_IP" --head --port=6379 /m);
      const commands = headScript.split("\n").filter((l) => !l.trimStart().startsWith("#"));
      expect(commands.filter((l) => l.includes("vllm serve"))).toEqual(['exec vllm serve "$@"']);
      expect(headScript).toContain(`-ge ${replica.tensorParallel * replica.pipelineParallel} ]`);

      replica.stages.slice(1).forEach((stage, i) => {
        const name = `ray-${model.id.replace(/[^a-z0-9]+/g, "-")}-r${replica.index}-s${i + 1}`;
        const worker = composeServices(artifacts, stage.node)[name]!;
        expect(worker, `${name} on ${stage.node}`).toBeDefined();
        expect(worker.network_mode).toBe("host");
        expect(worker.command).toBeUndefined();
        expect(worker.deploy!.resources.reservations.devices[0]!.device_ids).toEqual(stage.gpus.map(String).sort());
        const script = artifacts[`${stage.node}/ray/${name}.worker.sh`]!.contents;
        expect(script).toMatch(/^exec ray start --address="\$\{RAY_HEAD_IP\}:6379" /m);
        expect(script).not.toContain("vllm serve");
        const start = artifacts[`${stage.node}/bin/start.sh`]!.contents;
        const headAddress = plan.nodes.find((n) => n.name === replica.stages[0]!.node)!.address;
        expect(start).toContain(`peer_ip="$(resolve ${headAddress})"`);
        expect(start).toContain("printf 'RAY_HEAD_IP=%s\\n' \"$peer_ip\"");
      });
      // No other node of the fleet takes part.
      const inCluster = new Set(replica.stages.map((s) => s.node));
      for (const node of nodesOf(artifacts).filter((n) => !inCluster.has(n))) {
        expect(Object.keys(composeServices(artifacts, node)).filter((s) => s.includes(`-r${replica.index}`) && s.includes(model.id.replace(/[^a-z0-9]+/g, "-")))).toEqual([]);
      }
    },
  );
});

describe("run/network.env", () => {
  it("holds every variable a node's Ray script requires: bin/start.sh writes them on that node", () => {
    const scripts = Object.entries(mixed.artifacts).filter(([p]) => /\/ray\/.*\.sh$/.test(p));
    expect(scripts.length).toBeGreaterThan(0);
    for (const [file, script] of scripts) {
      const node = file.split("/")[0]!;
      const required = [...script.contents.matchAll(/\$\{(\w+):\?is written to run\/network\.env by bin\/start\.sh\}/g)].map((m) => m[1]);
      const written = [...mixed.artifacts[`${node}/bin/start.sh`]!.contents.matchAll(/printf '(\w+)=%s\\n'/g)].map((m) => m[1]);
      expect(required.length, file).toBeGreaterThan(0);
      expect(written, file).toEqual(expect.arrayContaining(required));
      const service = composeServices(mixed.artifacts, node)[file.replace(/^.*\/ray\/(.*)\.(head|worker)\.sh$/, "$1")]!;
      expect(service.env_file, file).toContain("./run/network.env");
    }
  });
});

describe("Ray ports", () => {
  it("are all pinned inside the exported rules, so a security group can be exact", () => {
    const rules = clusterPorts();
    const covered = (port: number) => rules.some((r) => port >= r.from && port <= r.to);
    for (const [name, port] of Object.entries(RAY_PORTS)) expect(covered(port), name).toBe(true);
    for (const script of Object.entries(mixed.artifacts).filter(([p]) => p.includes("/ray/")).map(([, a]) => a.contents)) {
      for (const m of script.matchAll(/--[a-z-]+-port=(\d+)/g)) expect(covered(Number(m[1])), m[0]).toBe(true);
    }
  });

  it("refuse a node in two multi-node replicas (the pinned ports would collide)", () => {
    const plan = structuredClone(mixed.plan);
    const devstral = plan.models.find((m) => m.id === "devstral")!;
    devstral.replicas[0]!.stages[1]!.node = "r1-l40s-2";
    devstral.replicas[0]!.nodes[1] = "r1-l40s-2";
    expect(() => rayMembership(plan)).toThrow(/node "r1-l40s-2" is in two multi-node replicas/);
    expect(() => renderFleet(plan, { stack: "dev" })).toThrow(/two multi-node replicas/);
  });
});

describe("GPU order", () => {
  const artifacts = renderFleet(workstationPlan());
  it("gives a TP replica the GPUs it was planned on, numbered in the host's order", () => {
    const qwen = composeServices(artifacts, "ws")["vllm-qwen3-32b-r0"]!;
    expect(qwen.deploy!.resources.reservations.devices[0]!.device_ids).toEqual(["1", "3"]);
    // Planned as [3, 1]: host GPU 3 is rank 0, i.e. the container's second device.
    expect(qwen.environment.CUDA_VISIBLE_DEVICES).toBe("1,0");
    expect(qwen.environment.CUDA_DEVICE_ORDER).toBe("PCI_BUS_ID");
    expect(argValue(qwen.command!, "--revision")).toBe("main");
  });
});
