import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseFleetSpec } from "./parse";
import { FleetSpecError } from "./errors";
import { loadSpecFile, loadStackSpec } from "./load";
import { GATEWAY } from "../../test/support/specs";

/** One external model: a spec that is whole but for what a test breaks. */
const MODEL = [{ id: "cloud", engine: "external", url: "https://api.example.com/v1", upstreamModel: "big" }];

function issues(raw: unknown) {
  try {
    parseFleetSpec(raw);
  } catch (err) {
    if (err instanceof FleetSpecError) return err.issues;
    throw err;
  }
  throw new Error("expected the spec to be refused");
}

describe("FleetSpec parsing", () => {
  it.each(fs.readdirSync("examples").filter((f) => f.endsWith(".yaml")))("accepts examples/%s", (file) => {
    expect(loadSpecFile(path.join("examples", file)).models.length).toBeGreaterThan(0);
  });

  it("reads the dev stack from Pulumi.dev.yaml", () => {
    const spec = loadStackSpec("dev");
    expect(spec.name).toBe("dev");
  });

  it("reports every shape problem at once, each with its path and a fix", () => {
    const found = issues({
      name: "t",
      nodes: [
        { name: "GPU_A", provider: "aws", instanceType: "g5.xlarge" },
        { name: "b", provider: "gcp" },
      ],
      models: [{ id: "m", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["b"] }], temprature: 0.7 }],
      gateway: GATEWAY,
    });
    const byPath = Object.fromEntries(found.map((i) => [i.path, i]));
    expect(Object.keys(byPath)).toEqual(expect.arrayContaining(["nodes[0].name", "nodes[1].provider", "models[0]"]));
    expect(byPath["nodes[0].name"]!.message).toMatch(/lower-case letters/);
    expect(byPath["nodes[1].provider"]!.fix).toMatch(/"aws", "ssh", "docker"/);
    expect(byPath["models[0]"]!.message).toMatch(/unknown field "temprature"/);
    for (const i of found) expect(i.fix.length).toBeGreaterThan(5);
  });

  it("says what a bad key name of a map breaks, not zod's \"Invalid key in record\"", () => {
    const found = issues({ name: "t", nodes: [], models: MODEL, gateway: { ...GATEWAY, keys: { "App Key": { models: ["*"], rateClass: "std" } } } });
    expect(found).toEqual([{ path: 'gateway.keys["App Key"]', message: 'the name "App Key" is not allowed here', fix: 'use up to 42 lower-case letters, digits and dashes, starting with a letter (e.g. "gpu-a")' }]);
  });

  it("asks for an object, a list or a number with the right article", () => {
    expect(issues({ name: "t", nodes: [], models: MODEL, gateway: null })).toEqual([{ path: "gateway", message: "expected object, got null", fix: "set it to an object" }]);
  });

  it("refuses an empty gateway.allowedCidrs, which would let no one in (unset: anyone, keys still apply)", () => {
    const found = issues({ name: "t", nodes: [], models: MODEL, gateway: { ...GATEWAY, allowedCidrs: [] } });
    expect(found).toEqual([{ path: "gateway.allowedCidrs", message: "is empty: the gateway's security group would let no one reach it", fix: 'list the CIDRs that may call the gateway (e.g. ["203.0.113.0/24"]), or remove allowedCidrs to let anyone with a key in' }]);
  });

  it("refuses allowedCidrs on a docker-hosted gateway, which has no security group to apply them (it answered anyone)", () => {
    const spec = { name: "t", nodes: [{ name: "desk", provider: "docker", host: "ssh://ops@desk", gpus: ["L40S"] }], models: MODEL };
    const found = issues({ ...spec, gateway: { ...GATEWAY, host: "desk", allowedCidrs: ["10.0.0.0/8"] } });
    expect(found).toEqual([expect.objectContaining({ path: "gateway.allowedCidrs", message: 'applies only to a gateway on AWS (its security group); the gateway on docker node "desk" answers anyone who reaches its port' })]);
    expect(parseFleetSpec({ ...spec, gateway: { ...GATEWAY, host: "desk" } }).gateway!.allowedCidrs).toEqual(["0.0.0.0/0"]);
  });

  it("reports every dangling reference at once", () => {
    const found = issues({
      name: "t",
      nodes: [{ name: "gpu", provider: "aws", instanceType: "g6.xlarge" }],
      models: [
        { id: "chat", engine: "vllm", source: { hf: "Qwen/Qwen2.5-7B-Instruct" }, replicas: [{ nodes: ["gpu", "nowhere"] }] },
        { id: "sql", engine: "llamacpp", source: { hf: "Snowflake/Arctic-Text2SQL-R1-7B" }, aliases: ["chat"], replicas: [{ nodes: ["gpu"] }] },
      ],
      fallbacks: { chat: ["chat", "gpt-5"] },
      gateway: { ...GATEWAY, keys: { app: { models: ["chat", "ghost"], rateClass: "gold" } }, routes: { "/text2sql": "sqll" } },
    });
    expect(found.map((i) => i.path)).toEqual([
      "models[1].aliases[0]",
      "models[0].replicas[0].nodes[1]",
      "models[1].source",
      "fallbacks.chat[0]",
      "fallbacks.chat[1]",
      "gateway.keys.app.models[1]",
      "gateway.keys.app.rateClass",
      'gateway.routes["/text2sql"]',
    ]);
    expect(found[1]!.fix).toMatch(/use one of: gpu/);
    expect(found[2]!.message).toBe("engine llamacpp cannot load a hf source");
  });

  it("names the missing config key of a stack file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-spec-"));
    fs.writeFileSync(path.join(dir, "Pulumi.empty.yaml"), "config:\n  aws:region: us-east-1\n");
    expect(() => loadStackSpec("empty", dir)).toThrow(/config\.llm-fleet:fleet: is missing/);
  });

  it("refuses a GGUF weight format for vLLM with the path of the field", () => {
    const found = (() => {
      try {
        parseFleetSpec({ name: "t", nodes: [], models: [{ id: "m", engine: "vllm", source: { hf: "a/b" }, quantization: "bogus", replicas: [{ nodes: [] }] }], gateway: GATEWAY });
      } catch (err) {
        return (err as FleetSpecError).issues;
      }
      return [];
    })();
    expect(found.find((i) => i.path === "models[0].quantization")?.fix).toMatch(/use one of "bf16"/);
  });
});

describe("placement rules the machines impose", () => {
  const node = (name: string, provider: string) =>
    provider === "aws" ? { name, provider, instanceType: "g6e.xlarge" } : provider === "ssh" ? { name, provider, host: `ops@${name}`, gpus: ["L40S"] } : { name, provider, host: `ssh://ops@${name}`, gpus: ["L40S"] };
  const pipeline = (nodes: string[]) => [{ id: "m", engine: "vllm", source: { hf: "Qwen/Qwen3-32B-AWQ" }, quantization: "awq", replicas: [{ nodes }] }];

  it("refuses a pipeline that mixes AWS instances with own hosts", () => {
    const found = issues({ name: "t", nodes: [node("cloud", "aws"), node("desk", "ssh")], models: pipeline(["cloud", "desk"]), gateway: GATEWAY });
    expect(found).toEqual([expect.objectContaining({ path: "models[0].replicas[0].nodes", message: "mixes AWS instances with your own hosts in one pipeline" })]);
  });
  it("refuses a docker node as a pipeline stage", () => {
    const found = issues({ name: "t", nodes: [node("one", "docker"), node("two", "docker")], models: pipeline(["one", "two"]), gateway: GATEWAY });
    expect(found[0]!.message).toMatch(/docker node cannot be a pipeline stage/);
  });
  it("refuses a docker-hosted gateway in front of AWS nodes", () => {
    const found = issues({ name: "t", nodes: [node("cloud", "aws"), node("desk", "docker")], models: pipeline(["cloud"]), gateway: { ...GATEWAY, host: "desk" } });
    expect(found).toEqual([expect.objectContaining({ path: "gateway.host", fix: 'run the gateway on "aws" (remove gateway.host)' })]);
  });
  it("reserves the node name gateway", () => {
    const found = issues({ name: "t", nodes: [node("gateway", "aws")], models: pipeline(["gateway"]), gateway: GATEWAY });
    expect(found[0]).toMatchObject({ path: "nodes[0].name" });
  });
});
