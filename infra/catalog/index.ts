export * from "./types";
export * from "./gpus";
export * from "./instances";
export * from "./models";
export * from "./quantization";
export * from "./vllm-versions";
export { UNSUPPORTED_MODELS } from "./models-recent";
