export { fleetOutputs, plannedGatewayUrl, type FleetOutputs, type ModelEntry } from "./outputs";
export { FleetOutputsSchema, ModelEntrySchema, RegistryInputError, parseFleetOutputs, registryJsonSchema } from "./schema";
export { generateRegistry, REGISTRY_FILES, type RegistryFiles } from "./generate";
export { outputsFromPlan } from "./from-plan";
export { writeRegistryFiles } from "./write";
export { buildChatRequest, type ChatRequest, type ChatRequestOverrides, type RegistryModel } from "./client";
