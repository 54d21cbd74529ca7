export * from "./types";
export { planFleet, OLLAMA_PORT } from "./fleet";
export { gatewayPrivateName, privateZoneName } from "./nodes";
export { VLLM_BLOCK_SIZE } from "./vllm-memory";
export { kvBytesPerToken, weightBytes, totalParams } from "./arch";
export { proportionalSplit, checkSplit } from "./split";
