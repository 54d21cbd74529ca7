export * from "./types";
export * from "./gpus";
export * from "./instances";
export * from "./models";
export * from "./quantization";
