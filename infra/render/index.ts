export { renderNode, renderFleet, secretsOfNode, nodeContainers, USER_DATA_FILE } from "./node";
export { IMAGES, engineImage, type ImageId } from "./images";
export { ENGINE_UPSTREAM, type EngineUpstreamFacts } from "./engines";
export { RAY_PORTS, VLLM_PORT_BASE, EPHEMERAL_PORTS, clusterPorts, type PortRule } from "./ray";
export { READY_TAG_KEY, AWS_BOOT_ACTIONS, COMPOSE_WAIT_SECONDS, usesSystemd } from "./bootstrap";
export { USER_DATA_LIMIT_BYTES, encodeUserData } from "./cloudinit";
export { NODE_ROOT, SYSTEMD_UNIT, ENGINE_API_KEY_SECRET, awsSecretIdPrefix, type RenderOptions, type NodeSecret } from "./layout";
export type { Artifact, Artifacts } from "./templates";
