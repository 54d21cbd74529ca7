import type { ServedEngine } from "../schema";
import type { SpecRule } from "./rule";

type SourceKind = "hf" | "gguf" | "ollama";

/** Weight formats each engine loads (vLLM: safetensors repos; llama.cpp: GGUF; Ollama: its tags or a GGUF). */
const LOADS: { readonly [E in ServedEngine]: readonly SourceKind[] } = { vllm: ["hf"], llamacpp: ["gguf"], ollama: ["ollama", "gguf"] };
const FORM: { readonly [K in SourceKind]: string } = { hf: '{ hf: "owner/repo" }', gguf: "{ gguf: { repo, file } }", ollama: '{ ollama: "tag" }' };

export const engineLoadsSource: SpecRule = (spec) =>
  spec.models.flatMap((m, i) => {
    if (m.engine === "external") return [];
    const kind: SourceKind = "hf" in m.source ? "hf" : "gguf" in m.source ? "gguf" : "ollama";
    const allowed = LOADS[m.engine];
    if (allowed.includes(kind)) return [];
    return [{ path: `models[${i}].source`, message: `engine ${m.engine} cannot load a ${kind} source`, fix: `use ${allowed.map((k) => FORM[k]).join(" or ")}` }];
  });
