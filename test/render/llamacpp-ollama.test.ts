/**
 * llama.cpp and Ollama as a user would check them: the plan's numbers on the command line or in
 * the Modelfile, one Ollama server per node, models created under their fleet ids, and the
 * refusals where one server cannot honour two plans.
 */
import { describe, expect, it } from "vitest";
import type { ServedModelPlan } from "../../infra/plan";
import { IMAGES, renderFleet } from "../../infra/render";
import { renderGateway } from "../../infra/render/gateway";
import { argValue, composeServices, renderedFleets, workstationPlan } from "./support";

const fleets = renderedFleets();
const workstation = fleets.find((f) => f.name === "workstation")!;

describe.each(fleets)("$name", ({ plan, artifacts }) => {
  const llama = plan.models.filter((m): m is ServedModelPlan => m.engine === "llamacpp");
  it.runIf(llama.length > 0)("launches each llama.cpp replica with the plan's layers, split, context and slots", () => {
    for (const model of llama) {
      for (const replica of model.replicas) {
        const l = replica.llamacpp!;
        const service = composeServices(artifacts, replica.endpoint.node)[`llamacpp-${model.id.replace(/[^a-z0-9]+/g, "-")}-r${replica.index}`]!;
        const args = service.command!;
        expect(argValue(args, "--alias")).toBe([model.id, ...model.aliases].join(","));
        expect(argValue(args, "--port")).toBe(String(replica.endpoint.port));
        expect(argValue(args, "--n-gpu-layers")).toBe(String(l.nGpuLayers));
        expect(argValue(args, "--tensor-split")).toBe(l.tensorSplit.length > 1 ? l.tensorSplit.join(",") : undefined);
        expect(argValue(args, "--ctx-size")).toBe(String(l.ctxSize));
        expect(argValue(args, "--parallel")).toBe(String(l.parallel));
        expect(argValue(args, "--threads")).toBe(String(l.threads));
        expect(argValue(args, "--batch-size")).toBe(String(l.batchSize));
        expect(argValue(args, "--cache-type-v")).toBe(l.cacheType);
        expect(argValue(args, "--flash-attn")).toBe(l.flashAttention ? "on" : "off");
        const onGpu = replica.stages.some((s) => s.gpus.length > 0);
        expect(service.image).toBe(onGpu ? IMAGES.llamacppCuda : IMAGES.llamacppCpu);
        expect(service.deploy !== undefined).toBe(onGpu);
      }
    }
  });

  const ollamaNodes = [...new Set(plan.models.filter((m) => m.engine === "ollama").flatMap((m) => m.replicas.map((r) => r.endpoint.node)))];
  it.runIf(ollamaNodes.length > 0)("runs one Ollama server per node and creates every model under its fleet id", () => {
    for (const node of ollamaNodes) {
      const services = Object.entries(composeServices(artifacts, node)).filter(([, s]) => s.image === IMAGES.ollama);
      expect(services.map(([n]) => n)).toEqual(["ollama"]);
      const pull = artifacts[`${node}/ollama/serve.sh`]!.contents;
      const models = plan.models.filter((m): m is ServedModelPlan => m.engine === "ollama" && m.replicas.some((r) => r.endpoint.node === node));
      for (const m of models) {
        const tag = (m.source as { ollama: string }).ollama;
        expect(pull).toContain(`/bin/ollama pull ${tag}\n`);
        expect(pull).toMatch(new RegExp(`^/bin/ollama create ${m.id} -f /etc/llm-fleet/ollama/\\S+\\.Modelfile$`, "m"));
      }
      expect(pull.indexOf("until /bin/ollama list")).toBeLessThan(pull.indexOf("/bin/ollama pull"));
      // Pulled inside the server's container before it reports healthy; start.sh has no step of its own.
      expect(artifacts[`${node}/bin/start.sh`]!.contents).not.toContain("ollama");
    }
  });
});

describe("Ollama on the workstation's Docker host", () => {
  const env = composeServices(workstation.artifacts, "box").ollama!.environment;
  const models = workstation.plan.models.filter((m): m is ServedModelPlan => m.engine === "ollama");

  it("sets the server's variables from the plan", () => {
    const o = models[0]!.replicas[0]!.ollama!;
    expect(env).toMatchObject({
      OLLAMA_HOST: "0.0.0.0:11434",
      OLLAMA_KEEP_ALIVE: "-1",
      OLLAMA_NUM_PARALLEL: String(o.numParallel),
      OLLAMA_FLASH_ATTENTION: o.flashAttention ? "1" : "0",
      OLLAMA_KV_CACHE_TYPE: o.kvCacheType,
      OLLAMA_CONTEXT_LENGTH: String(Math.min(...models.map((m) => m.replicas[0]!.ollama!.numCtx))),
      OLLAMA_MAX_LOADED_MODELS: "2",
      OLLAMA_ORIGINS: "https://app.example.com",
    });
  });

  it("writes a Modelfile per model: FROM its tag, num_ctx/num_gpu from the plan, sampling, SYSTEM", () => {
    const tiny = workstation.artifacts["box/ollama/tiny.Modelfile"]!.contents;
    const o = models.find((m) => m.id === "tiny")!.replicas[0]!.ollama!;
    expect(tiny).toContain("FROM tinyllama:1.1b\n");
    expect(tiny).toContain(`PARAMETER num_ctx ${o.numCtx}\nPARAMETER num_gpu ${o.numGpu}\n`);
    for (const line of ["temperature 0.5", "top_p 0.9", "top_k 40", "min_p 0.05", "repeat_penalty 1.1", "presence_penalty 0.1", "frequency_penalty 0.2"]) {
      expect(tiny).toContain(`PARAMETER ${line}\n`);
    }
    const qwen = workstation.artifacts["box/ollama/qwen-small.Modelfile"]!.contents;
    expect(qwen).toContain(`SYSTEM """Answer in one sentence. Prices are in $ (USD); don't use 'quotes'."""`);
  });

  it("has the gateway send Host: localhost to Ollama (it 403s other hosts on loopback), and the upstream's own host elsewhere", () => {
    const plan = workstationPlan();
    const clientKeys = Object.fromEntries(Object.keys(plan.gateway!.keys).map((k) => [k, `sk-${k}-${"0123456789abcdef".repeat(2)}`]));
    const conf = renderGateway(plan, { clientKeys, listen: { address: "127.0.0.1", port: 8080 } })["gateway/nginx.conf"]!.contents;
    // Each tier location sets the model it serves, then the Host header it sends.
    const hostFor = (model: string) => {
      const at = conf.indexOf(`set $fleet_tier_model "${model}";`);
      expect(at, model).toBeGreaterThan(-1);
      return /proxy_set_header Host (\S+);/.exec(conf.slice(at))?.[1];
    };
    expect(hostFor("tiny")).toBe("localhost");
    expect(hostFor("qwen-small")).toBe("localhost");
    expect(hostFor("coder")).toBe("$proxy_host");
    expect(hostFor("llama-8b")).toBe("$proxy_host");
  });

  it("refuses models that need different server-wide settings on one node", () => {
    const plan = workstationPlan();
    const qwen = plan.models.find((m) => m.id === "qwen-small") as ServedModelPlan;
    qwen.replicas[0]!.ollama!.numParallel = 4;
    expect(() => renderFleet(plan)).toThrow(/OLLAMA_NUM_PARALLEL is one setting per server.*"tiny": 2, "qwen-small": 4/);
  });

  it('refuses a system prompt that would end the SYSTEM block early (""")', () => {
    const plan = workstationPlan();
    (plan.models.find((m) => m.id === "qwen-small") as ServedModelPlan).systemPrompt = 'Say """hi"""';
    expect(() => renderFleet(plan)).toThrow(/systemPrompt of "qwen-small"/);
  });
});

describe("llama.cpp on the workstation's Docker host", () => {
  it("splits across both GPUs as planned and carries every sampling default", () => {
    const coder = composeServices(workstation.artifacts, "box")["llamacpp-coder-r0"]!;
    const l = (workstation.plan.models.find((m) => m.id === "coder") as ServedModelPlan).replicas[0]!.llamacpp!;
    expect(argValue(coder.command!, "--tensor-split")).toBe(l.tensorSplit.join(","));
    expect(coder.deploy!.resources.reservations.devices[0]!.device_ids).toEqual(["0", "1"]);
    for (const [flag, value] of [["--temp", "0.2"], ["--top-p", "0.9"], ["--top-k", "40"], ["--min-p", "0.05"], ["--repeat-penalty", "1.1"], ["--presence-penalty", "0.1"], ["--frequency-penalty", "0.2"]]) {
      expect(argValue(coder.command!, flag!)).toBe(value);
    }
  });
});
