export { renderGateway } from "./render";
export { OFFICIAL_NGINX_IMAGE, NJS_MODULE_PATH, type GatewayRenderOptions, type NginxFlavor, type ResolveEndpoint, type UpstreamTarget } from "./options";
export { keyEnvName, secretEnvName } from "./env";
export { sha256Hex, MIN_KEY_LENGTH, type RouterConfig } from "./router-config";
