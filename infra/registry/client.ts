/**
 * Builds an `openai` chat-completions request for one registry model, with the fleet's defaults.
 *
 * Self-contained on purpose: `fleet registry` copies this file verbatim into every generated
 * registry.ts, so an app in another repository gets the helper with no dependency beyond the
 * official `openai` package, and the copy it gets is the one tested here.
 */
import type { OpenAI } from "openai";

export type RegistryEngine = "vllm" | "llamacpp" | "ollama" | "external";

/** Sampling defaults as the fleet spec names them. */
export interface RegistrySampling {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
}

export interface RegistryModel {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly engine: RegistryEngine;
  readonly baseURL: string;
  readonly contextLength: number | null;
  readonly maxOutputTokens: number | null;
  readonly sampling: RegistrySampling;
  readonly systemPrompt: string | null;
  readonly display: { readonly name: string; readonly description: string | null; readonly tags: readonly string[] };
  readonly capabilities: readonly string[];
  readonly replicas: number;
  readonly tiers: readonly string[];
  readonly routes: readonly string[];
}

/** Request-body sampling fields that some engines read beyond the OpenAI ones. */
export interface EngineSamplingFields {
  top_k?: number;
  min_p?: number;
  repetition_penalty?: number;
  repeat_penalty?: number;
}

type ExtraSampling = "topK" | "minP" | "repetitionPenalty";

/** Where each engine's OpenAI-compatible endpoint reads top-k, min-p and the repetition penalty. */
const EXTRA_SAMPLING_FIELDS: { readonly [E in RegistryEngine]: Readonly<Partial<Record<ExtraSampling, keyof EngineSamplingFields>>> } = {
  // vLLM's ChatCompletionRequest takes them as extra sampling parameters.
  vllm: { topK: "top_k", minP: "min_p", repetitionPenalty: "repetition_penalty" },
  // llama-server reads llama.cpp's own names from the body (params_from_json_cmpl: "repeat_penalty").
  llamacpp: { topK: "top_k", minP: "min_p", repetitionPenalty: "repeat_penalty" },
  // Ollama's /v1 endpoint has no such fields (openai/openai.go ChatCompletionRequest); the fleet
  // sets them as Modelfile PARAMETERs when it deploys the model.
  ollama: {},
  // OpenAI-compatible providers answer 400 to arguments they do not know.
  external: {},
};

export type ChatRequest = OpenAI.ChatCompletionCreateParamsNonStreaming & EngineSamplingFields;
export type ChatRequestOverrides = Partial<Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, "model" | "messages">> & EngineSamplingFields;

/**
 * The request body for `model`: its id, its sampling defaults under the names its engine reads,
 * its system prompt first (unless the messages already start with a system or developer message),
 * and `max_tokens` = the model's maxOutputTokens, or the caller's max_tokens / max_completion_tokens
 * clamped to it (the gateway refuses more). `overrides` win over the other defaults. Stream with
 * `{ ...chatRequest(…), stream: true }`.
 */
export function buildChatRequest(
  model: RegistryModel,
  messages: readonly OpenAI.ChatCompletionMessageParam[],
  overrides: ChatRequestOverrides = {},
): ChatRequest {
  const s = model.sampling;
  const request: ChatRequest = { model: model.id, messages: withSystemPrompt(model.systemPrompt, messages) };
  if (s.temperature !== undefined) request.temperature = s.temperature;
  if (s.topP !== undefined) request.top_p = s.topP;
  if (s.presencePenalty !== undefined) request.presence_penalty = s.presencePenalty;
  if (s.frequencyPenalty !== undefined) request.frequency_penalty = s.frequencyPenalty;
  const extra = EXTRA_SAMPLING_FIELDS[model.engine];
  for (const key of ["topK", "minP", "repetitionPenalty"] as const) {
    const wire = extra[key];
    const value = s[key];
    if (wire !== undefined && value !== undefined) request[wire] = value;
  }
  Object.assign(request, overrides);
  const limit = model.maxOutputTokens;
  if (limit !== null) {
    if (request.max_completion_tokens != null) request.max_completion_tokens = Math.min(request.max_completion_tokens, limit);
    if (request.max_tokens != null) request.max_tokens = Math.min(request.max_tokens, limit);
    else if (request.max_completion_tokens == null) request.max_tokens = limit;
  }
  return request;
}

function withSystemPrompt(
  systemPrompt: string | null,
  messages: readonly OpenAI.ChatCompletionMessageParam[],
): OpenAI.ChatCompletionMessageParam[] {
  const first = messages[0];
  if (systemPrompt === null || (first && (first.role === "system" || first.role === "developer"))) return [...messages];
  return [{ role: "system", content: systemPrompt }, ...messages];
}
