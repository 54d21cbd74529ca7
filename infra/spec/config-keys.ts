/**
 * The stack's Pulumi config keys, built here and nowhere else: the fleet itself (llm-fleet:fleet)
 * and the keys beside it (clientKeys, secrets, sshPrivateKey, expiresAt, preview …).
 */
export const CONFIG_NAMESPACE = "llm-fleet";
/** The fleet's key inside the namespace: `new pulumi.Config(CONFIG_NAMESPACE).requireObject(FLEET_CONFIG_NAME)`. */
export const FLEET_CONFIG_NAME = "fleet";

/** "llm-fleet:<name>", as Pulumi.<stack>.yaml and `pulumi config set` spell it. */
export function configKey(name: string): string {
  return `${CONFIG_NAMESPACE}:${name}`;
}

export const FLEET_CONFIG_KEY = configKey(FLEET_CONFIG_NAME);
