/**
 * examples/app at run time: the chat app sends, through the official openai client, the request
 * the registry describes (checked on an OpenAI-compatible test server); the app's Pulumi stack
 * reads the fleet through a StackReference and publishes the endpoint of the app's model.
 */
import * as pulumi from "@pulumi/pulumi";
import { OpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { planFleet } from "../../infra/plan";
import { fleetOutputs } from "../../infra/registry";
import { loadStackSpec } from "../../infra/spec/load";
import { startFakeEngine, type FakeEngine } from "../support/fake-engine";
import { MODEL, ask, askStreaming } from "../../examples/app/src/main";

describe("the example chat app", () => {
  let engine: FakeEngine;
  beforeAll(async () => {
    engine = await startFakeEngine({ servedName: "qwen3-32b", apiKey: "ck-app-test-key" });
  });
  afterAll(() => engine.close());

  const client = () => new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: "ck-app-test-key", maxRetries: 0 });

  it("asks its model with the fleet's defaults and the key it was given", async () => {
    await expect(ask(client(), "What is a KV cache?")).resolves.toBe("Hello from qwen3-32b");
    const request = engine.requests.at(-1)!;
    expect(request.path).toBe("/v1/chat/completions");
    expect(request.headers.authorization).toBe("Bearer ck-app-test-key");
    expect(request.json).toEqual({
      model: MODEL,
      messages: [{ role: "user", content: "What is a KV cache?" }],
      temperature: 0.6,
      top_p: 0.95,
      top_k: 20,
      min_p: 0,
      max_tokens: 8192,
    });
  });

  it("streams the same request", async () => {
    let text = "";
    for await (const part of askStreaming(client(), "hi")) text += part;
    expect(text).toBe("Hello from qwen3-32b");
    expect(engine.requests.at(-1)!.json).toMatchObject({ model: MODEL, stream: true, top_k: 20, max_tokens: 8192 });
  });
});

describe("the example app's Pulumi stack", () => {
  it("reads the fleet's outputs through a StackReference and publishes its model's endpoint", async () => {
    const fleet = fleetOutputs(planFleet(loadStackSpec("dev")), "https://llm.example.com");
    const created: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          created.push({ type: args.type, name: args.name, inputs: args.inputs });
          const state = args.type === "pulumi:pulumi:StackReference" ? { name: args.inputs.name, outputs: { ...fleet, clientKeys: "[secret]" }, secretOutputNames: [] } : args.inputs;
          return { id: `${args.name}-id`, state };
        },
        call: () => ({}),
      },
      "llm-fleet-app",
      "dev",
      false,
    );
    pulumi.runtime.setAllConfig({ "llm-fleet-app:fleetStack": "acme/llm-fleet/dev" });
    vi.resetModules();
    const program = (await import("../../examples/app/infra/index.js")) as { endpoint: pulumi.Output<unknown>; parameterName: pulumi.Output<string>; fleetGateway: pulumi.Output<string> };
    const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

    const entry = fleet.models[MODEL]!;
    const endpoint = { model: MODEL, baseURL: entry.baseURL, maxOutputTokens: entry.maxOutputTokens, contextLength: entry.contextLength };
    await expect(value(program.endpoint)).resolves.toEqual(endpoint);
    await expect(value(program.fleetGateway)).resolves.toBe("https://llm.example.com");
    await expect(value(program.parameterName)).resolves.toBe("/llm-fleet-app/dev/llm-endpoint");
    expect(created.find((r) => r.type === "pulumi:pulumi:StackReference")?.inputs.name).toBe("acme/llm-fleet/dev");
    const parameter = created.find((r) => r.type === "aws:ssm/parameter:Parameter");
    // @pulumi/aws marks an SSM parameter's value secret itself; the mocks see it wrapped.
    const wrapped = parameter?.inputs.value as { value: string };
    expect(JSON.parse(wrapped.value)).toEqual(endpoint);
    await pulumi.runtime.disconnect();
  });
});
