export * from "./schema";
export * from "./errors";
export { parseFleetSpec } from "./parse";
export { validateReferences } from "./validate";
