/** buildChatRequest: the request body an app sends for a registry model. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import { buildChatRequest, fleetOutputs, type RegistryModel } from "../../infra/registry";
import { loadSpecFile, loadStackSpec } from "../../infra/spec/load";
import type { Engine } from "../../infra/spec/schema";

const dev = fleetOutputs(planFleet(loadStackSpec("dev")), "https://llm.example.com").models;
const user = [{ role: "user" as const, content: "hi" }];

const model = (engine: Engine, extra: Partial<RegistryModel> = {}): RegistryModel => ({
  ...dev["qwen3-32b"]!,
  engine,
  sampling: { temperature: 0.7, topP: 0.8, topK: 20, minP: 0.05, repetitionPenalty: 1.05, presencePenalty: 0.5, frequencyPenalty: 0.1 },
  ...extra,
});

describe("buildChatRequest", () => {
  it("sends the model id and its sampling defaults under OpenAI's names", () => {
    expect(buildChatRequest(dev["qwen3-32b"]!, user)).toEqual({
      model: "qwen3-32b",
      messages: user,
      temperature: 0.6,
      top_p: 0.95,
      top_k: 20,
      min_p: 0,
      max_tokens: 8192,
    });
  });

  it("puts top-k, min-p and the repetition penalty where each engine reads them, and nowhere they would be refused", () => {
    const common = { temperature: 0.7, top_p: 0.8, presence_penalty: 0.5, frequency_penalty: 0.1 };
    const extras = (engine: Engine) => {
      const { model: _m, messages: _x, max_tokens: _t, ...rest } = buildChatRequest(model(engine), user);
      return rest;
    };
    expect(extras("vllm")).toEqual({ ...common, top_k: 20, min_p: 0.05, repetition_penalty: 1.05 });
    expect(extras("llamacpp")).toEqual({ ...common, top_k: 20, min_p: 0.05, repeat_penalty: 1.05 });
    expect(extras("ollama")).toEqual(common);
    expect(extras("external")).toEqual(common);
  });

  it("puts the model's system prompt first, unless the caller brought one", () => {
    const l4pair = fleetOutputs(planFleet(loadSpecFile("examples/l4-pair-text2sql.yaml")), "https://x").models["arctic-text2sql"]!;
    expect(buildChatRequest(l4pair, user).messages).toEqual([{ role: "system", content: l4pair.systemPrompt }, ...user]);
    const own = [{ role: "system" as const, content: "mine" }, ...user];
    expect(buildChatRequest(l4pair, own).messages).toEqual(own);
    const developer = [{ role: "developer" as const, content: "mine" }, ...user];
    expect(buildChatRequest(l4pair, developer).messages).toEqual(developer);
    expect(buildChatRequest(dev["qwen3-32b"]!, user).messages).toEqual(user);
  });

  it("lets the caller override any default, and clamps max_tokens to the model's maxOutputTokens", () => {
    const m = dev["qwen2.5-7b"]!;
    expect(buildChatRequest(m, user, { temperature: 0, top_k: 5, stop: ["\n"] })).toMatchObject({ temperature: 0, top_k: 5, stop: ["\n"], top_p: 0.8 });
    expect(buildChatRequest(m, user, { max_tokens: 256 }).max_tokens).toBe(256);
    expect(buildChatRequest(m, user, { max_tokens: 100_000 }).max_tokens).toBe(4096);
    const completion = buildChatRequest(m, user, { max_completion_tokens: 100_000 });
    expect(completion.max_completion_tokens).toBe(4096);
    expect(completion.max_tokens).toBeUndefined();
    expect(buildChatRequest(m, user, { max_completion_tokens: 100_000, max_tokens: 100_000 })).toMatchObject({ max_completion_tokens: 4096, max_tokens: 4096 });
  });

  it("leaves max_tokens to the provider when the registry does not know a limit", () => {
    const unknown = model("external", { maxOutputTokens: null });
    expect(buildChatRequest(unknown, user).max_tokens).toBeUndefined();
    expect(buildChatRequest(unknown, user, { max_tokens: 123_456 }).max_tokens).toBe(123_456);
  });

  it("never asks for more than maxOutputTokens, whatever the caller asks (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (limit, asked) => {
        const request = buildChatRequest(model("vllm", { maxOutputTokens: limit }), user, { max_tokens: asked });
        expect(request.max_tokens).toBe(Math.min(limit, asked));
      }),
    );
  });

  it("does not change the caller's messages", () => {
    const messages = [...user];
    buildChatRequest(fleetOutputs(planFleet(loadSpecFile("examples/l4-pair-text2sql.yaml")), "https://x").models["arctic-text2sql"]!, messages);
    expect(messages).toEqual(user);
  });
});
