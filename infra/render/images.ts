/**
 * Engine container images, pinned in one place. Each tag is the release whose command line the
 * reference flag lists in reference/ describe (or the closest verified tag before it);
 * test/render checks every flag we emit against those lists, so a tag bump starts there.
 */
import { DEFAULT_VLLM_VERSION, VLLM_ACCOUNTING } from "../catalog/vllm-versions";
import type { ServedEngine } from "../spec/schema";

export type ImageId = "vllm" | "llamacppCuda" | "llamacppCpu" | "ollama";

export const IMAGES: { readonly [id in ImageId]: string } = {
  // vllm-serve-args.json was read at v0.21-era main (envs.py: "Enabled by default as of v0.21.0").
  // Every flag we emit also exists in v0.16.0 (the reference's comparison), so v0.16–v0.21 all
  // accept our command lines. The image contains Ray: Ray heads and workers run from it too.
  // The default version of catalog/vllm-versions.ts (one home for the version and its memory accounting);
  // a model that names engineVersion runs that version's image instead (render/vllm.ts vllmImage).
  vllm: VLLM_ACCOUNTING[DEFAULT_VLLM_VERSION].image,
  // llama-server-args.json was read at master ≈ b10472 (exact tag not determined); b9190 is the
  // nearest upstream build tag verified in that history. We emit no option newer than it.
  llamacppCuda: "ghcr.io/ggml-org/llama.cpp:server-cuda-b9190",
  llamacppCpu: "ghcr.io/ggml-org/llama.cpp:server-b9190",
  // ollama.json: snapshot tagged v0.33.0-rc2; latest non-rc tag there is v0.32.15 (Docker Hub tags drop the "v").
  ollama: "ollama/ollama:0.32.15",
};

/** The image a replica's engine runs from; Ray (multi-node vLLM) uses the vLLM image. */
export function engineImage(engine: ServedEngine, onGpu: boolean): string {
  switch (engine) {
    case "vllm":
      return IMAGES.vllm;
    case "llamacpp":
      return onGpu ? IMAGES.llamacppCuda : IMAGES.llamacppCpu;
    case "ollama":
      return IMAGES.ollama;
    default: {
      const unreachable: never = engine;
      return unreachable;
    }
  }
}
