/**
 * A bad spec or stack config fails the program when it loads — at `pulumi preview`, before any
 * resource — with every problem at once, each with its config key and the command that fixes it.
 */
import { describe, expect, it } from "vitest";
import { configIssues, type ConfigPresence } from "../../infra/cloud/settings";
import { parseFleetSpec } from "../../infra/spec/parse";
import { MAX_TIERS } from "../../infra/spec/schema";
import { T, ofType, runFixture } from "./inspect";
import { devFixture, exampleFixture, type StackFixture } from "./stacks";

const withConfig = (f: StackFixture, config: Record<string, unknown>, drop: string[] = []): StackFixture => ({
  ...f,
  program: { ...f.program, config: Object.fromEntries(Object.entries({ ...f.program.config, ...config }).filter(([k]) => !drop.includes(k))) },
});

describe("the program refuses a bad stack before creating anything", () => {
  it("fails on a bad spec with the messages `fleet plan` gives", async () => {
    const f = devFixture();
    const spec = structuredClone(f.program.config["llm-fleet:fleet"]) as { nodes: Record<string, unknown>[] };
    spec.nodes[0]!.instanceTyp = "g6e.xlarge";
    let expected = "";
    try {
      parseFleetSpec(spec);
    } catch (err) {
      expected = (err as Error).message.split("\n").slice(1).join("\n");
    }
    expect(expected).toContain('unknown field "instanceTyp"');
    await expect(runFixture(withConfig(f, { "llm-fleet:fleet": spec }))).rejects.toThrow(expected);
  });

  // The render-time check of a chain's length went to the fallbacksKnown rule (MAX_TIERS): the
  // program must still refuse it while loading, naming the model's fallbacks.
  it(`refuses a model with more than ${MAX_TIERS} tiers (aliases and anyKey tiers counted), naming fallbacks.<model>`, async () => {
    const f = devFixture();
    const spec = structuredClone(f.program.config["llm-fleet:fleet"]) as { models: Record<string, unknown>[]; fallbacks: Record<string, unknown[]> };
    const extra = Array.from({ length: MAX_TIERS - 1 }, (_, i) => ({ id: `e${i}`, engine: "external", url: "https://api.provider.example/v1", upstreamModel: `p/e${i}`, aliases: [`e${i}-latest`] }));
    spec.models.push(...extra);
    spec.fallbacks = { "qwen3-32b": ["qwen2.5-7b", ...extra.map((e, i) => (i % 2 ? e.id : { model: e.id, anyKey: true }))] };
    await expect(runFixture(withConfig(f, { "llm-fleet:fleet": spec }))).rejects.toThrow(
      new RegExp(`fallbacks\\.qwen3-32b: qwen3-32b has ${MAX_TIERS + 1} tiers .*\\n\\s+fix: keep at most ${MAX_TIERS - 1} fallbacks for qwen3-32b`),
    );
    spec.fallbacks["qwen3-32b"]!.pop();
    expect(() => parseFleetSpec(spec)).not.toThrow();
  });

  it("lists every config problem in one error", async () => {
    const f = devFixture();
    const bad = withConfig(f, { "llm-fleet:clientKeys": { app: "short" }, "llm-fleet:secrets": { "hf-tokn": "x" }, "llm-fleet:expiresAt": "tomorrow", "aws:region": "eu-west-1" });
    const error = await runFixture(bad).then(
      () => "",
      (err: Error) => err.message,
    );
    expect(error).toContain("Pulumi config of stack dev: 5 problems");
    expect(error).toContain(`llm-fleet:clientKeys: no value for client key "admin" (gateway.keys)`);
    expect(error).toContain(`llm-fleet:secrets: no value for secrets "hf-token", "openai-key"`);
    expect(error).toContain(`llm-fleet:secrets.hf-tokn: is not named by the fleet spec`);
    expect(error).toContain(`llm-fleet:expiresAt: "tomorrow" is not an ISO 8601 time`);
    expect(error).toContain("aws:region: is eu-west-1 but the fleet's region is us-east-1");
    expect(error).not.toContain("short");
  });

  it("refuses client key values the gateway would refuse, without printing them", async () => {
    const f = devFixture();
    const error = await runFixture(withConfig(f, { "llm-fleet:clientKeys": { app: "too-short", admin: "ck-admin-0123456789abcdef0123" } })).then(
      () => "",
      (err: Error) => err.message,
    );
    expect(error).toContain("llm-fleet:clientKeys: gateway.keys.app: the key must be at least 16 characters");
    expect(error).not.toContain("too-short");
  });

  it("refuses a client key value that is not a string (JSON config gives numbers) without printing it", async () => {
    const f = devFixture();
    const error = await runFixture(withConfig(f, { "llm-fleet:clientKeys": { app: 12345678901234567890, admin: "ck-admin-0123456789abcdef0123" } })).then(
      () => "",
      (err: Error) => err.message,
    );
    expect(error).toContain("llm-fleet:clientKeys: gateway.keys.app: the key must be a string");
    expect(error).not.toMatch(/1234567890/);
  });

  it("refuses a secret whose value is empty or not a string, naming the secret and never a value", async () => {
    const f = devFixture();
    const keys = { app: "ck-app-0123456789abcdef0123", admin: "ck-admin-0123456789abcdef0123" };
    const error = await runFixture(withConfig(f, { "llm-fleet:clientKeys": keys, "llm-fleet:secrets": { "hf-token": "", "openai-key": 98765432109876 } })).then(
      () => "",
      (err: Error) => err.message,
    );
    expect(error).toContain("llm-fleet:secrets.hf-token: is empty");
    expect(error).toContain("llm-fleet:secrets.openai-key: is not a string");
    expect(error).not.toMatch(/98765432109876|ck-app/);
  });

  it("asks for the SSH key of a fleet with ssh nodes, unless an ssh-agent is there to sign", async () => {
    const agent = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const error = await runFixture(withConfig(exampleFixture("l4-pair-text2sql.yaml"), {}, ["llm-fleet:sshPrivateKey"])).then(
        () => "",
        (err: Error) => err.message,
      );
      expect(error).toContain("llm-fleet:sshPrivateKey: the fleet has ssh nodes but no SSH private key, and no ssh-agent (SSH_AUTH_SOCK) where pulumi runs");
      expect(error).toContain("pulumi config set --secret llm-fleet:sshPrivateKey < ~/.ssh/id_ed25519, or run pulumi with an ssh-agent that holds the key");

      // With an agent, @pulumi/command 1.x signs with it: the connection carries no key at all.
      process.env.SSH_AUTH_SOCK = "/tmp/agent.sock";
      const run = await runFixture(withConfig(exampleFixture("l4-pair-text2sql.yaml"), {}, ["llm-fleet:sshPrivateKey"]));
      const connections = ofType(run, T.remote).map((c) => c.inputs.connection as Record<string, unknown>);
      expect(connections.length).toBeGreaterThan(0);
      for (const c of connections) expect(c).toEqual({ host: "10.20.0.15", user: "ops", port: 22, dialErrorLimit: 10, perDialTimeout: 15 });
    } finally {
      if (agent === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = agent;
    }
  });

  it("refuses an AWS node that would run nothing, and a docker gateway in front of AWS engines", async () => {
    const f = devFixture();
    const idle = structuredClone(f.program.config["llm-fleet:fleet"]) as { nodes: unknown[] };
    idle.nodes.push({ name: "spare", provider: "aws", instanceType: "g6.xlarge" });
    await expect(runFixture(withConfig(f, { "llm-fleet:fleet": idle }))).rejects.toThrow(/nodes\[2\]: AWS node "spare" runs no model but would be billed by the hour/);

    const mixed = structuredClone(f.program.config["llm-fleet:fleet"]) as { nodes: unknown[]; gateway: Record<string, unknown> };
    mixed.nodes.push({ name: "edge", provider: "docker", host: "unix:///var/run/docker.sock", gpus: [] , cpu: { cores: 4, memoryGiB: 8, bandwidthGBs: 20 } });
    mixed.gateway.host = "edge";
    await expect(runFixture(withConfig(f, { "llm-fleet:fleet": mixed }))).rejects.toThrow(/gateway\.host: the engines of AWS nodes \(gpu-l40s, gpu-l4\) are reachable only inside the fleet's VPC, not from docker node "edge"/);
  });
});

describe("configIssues (pure)", () => {
  const plan = devFixture().plan;
  const complete: ConfigPresence = {
    clientKeyNames: ["app", "admin"],
    clientKeyIssues: [],
    secretNames: ["hf-token", "openai-key"],
    badSecretValues: [],
    hasSshPrivateKey: false,
    hasSshAgent: false,
    expiresAt: undefined,
    readinessTimeoutSeconds: undefined,
    awsRegion: "us-east-1",
  };

  it("accepts a complete config", () => {
    expect(configIssues(plan, complete)).toEqual([]);
    expect(configIssues(plan, { ...complete, expiresAt: "2026-03-01T12:00:00+01:00", readinessTimeoutSeconds: 600, awsRegion: undefined })).toEqual([]);
  });

  it("refuses a generated secret given in config, and a timeout that is not a whole positive number", () => {
    expect(configIssues(plan, { ...complete, secretNames: [...complete.secretNames!, "engine-api-key"], readinessTimeoutSeconds: Number.NaN })).toEqual([
      { path: "llm-fleet:secrets.engine-api-key", message: "is generated by the program (the key the fleet's engines check)", fix: "remove it" },
      { path: "llm-fleet:readinessTimeoutSeconds", message: "NaN is not a positive whole number of seconds", fix: "use e.g. 3600" },
    ]);
  });
});
