/**
 * A chat app on the fleet. The model is a `ModelId` from the generated registry, so naming a model
 * the fleet does not deploy fails to compile; the URL and the sampling defaults come from the
 * registry, the API key from the environment (a client key of the fleet's gateway.keys).
 *
 *   LLM_FLEET_API_KEY=… npx tsx src/main.ts "What is a KV cache?"
 */
import { OpenAI } from "openai";
import { chatRequest, models, type ModelId } from "./fleet/registry";

/** The model this app is written for. */
export const MODEL: ModelId = "qwen3-32b";

export function clientFor(id: ModelId, apiKey: string): OpenAI {
  return new OpenAI({ baseURL: models[id].baseURL, apiKey });
}

export async function ask(client: OpenAI, question: string, id: ModelId = MODEL): Promise<string> {
  const completion = await client.chat.completions.create(chatRequest(id, [{ role: "user", content: question }]));
  return completion.choices[0]?.message.content ?? "";
}

/** The same request, streamed: the answer as it is generated. */
export async function* askStreaming(client: OpenAI, question: string, id: ModelId = MODEL): AsyncGenerator<string> {
  const stream = await client.chat.completions.create({ ...chatRequest(id, [{ role: "user", content: question }]), stream: true });
  for await (const chunk of stream) yield chunk.choices[0]?.delta.content ?? "";
}

async function main(): Promise<number> {
  const apiKey = process.env.LLM_FLEET_API_KEY;
  if (!apiKey) {
    console.error("LLM_FLEET_API_KEY is not set: use a client key of the fleet's gateway (gateway.keys in its spec)");
    return 2;
  }
  const question = process.argv.slice(2).join(" ") || "In one sentence: what does the gateway do when a model is down?";
  for await (const text of askStreaming(clientFor(MODEL, apiKey), question)) process.stdout.write(text);
  process.stdout.write("\n");
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
