/**
 * Environment variable names the gateway reads its keys from (issue 4: "upper case, dashes as
 * underscores"). `fleet gateway` reads client keys from LLM_FLEET_KEY_<NAME>; nginx itself reads
 * upstream secrets from LLM_FLEET_SECRET_<NAME> (nginx `env` directive → njs process.env), so no
 * secret is ever written into a rendered file.
 */

const envSuffix = (name: string) => name.toUpperCase().replace(/-/g, "_");

/** @example keyEnvName("chat-app") === "LLM_FLEET_KEY_CHAT_APP" */
export const keyEnvName = (keyName: string) => `LLM_FLEET_KEY_${envSuffix(keyName)}`;

/** @example secretEnvName("openai-key") === "LLM_FLEET_SECRET_OPENAI_KEY" */
export const secretEnvName = (secretName: string) => `LLM_FLEET_SECRET_${envSuffix(secretName)}`;
