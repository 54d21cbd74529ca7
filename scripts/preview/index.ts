export type { ConfigEntry, ConfigJson, OnOutput, OutputEntry, PreviewBackend, StackInfo } from "./backend";
export { PreviewError } from "./errors";
export { PREVIEW_PREFIX, MAX_STACK_NAME_LENGTH, isPreviewStack, previewStackName, shortStackName } from "./names";
export { DEFAULT_TTL, MAX_TTL_MS, expiresAt, parseTtl } from "./ttl";
export { CLIENT_KEYS_CONFIG_KEY, EXPIRES_AT_CONFIG_KEY, PREVIEW_CONFIG_KEY, SECRETS_CONFIG_KEY, PreviewSettings, previewConfig, previewFleet, readBaseConfig } from "./overrides";
export { secretsFromEnv, type EnvSecrets } from "./secrets";
export { previewUp, type PreviewDeps, type PreviewUpOptions, type PreviewUpResult } from "./up";
export { previewDown, teardown, type PreviewDownResult } from "./down";
export { previewSweep, type SweepOutcome } from "./sweep";
