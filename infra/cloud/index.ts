export { AwsGpuNode, type AwsGpuNodeArgs } from "./awsGpuNode";
export { DEEP_LEARNING_AMI, GATEWAY_AMI, latestAmiId, type AmiQuery } from "./ami";
export { DockerHost, type DockerHostArgs } from "./dockerHost";
export { containerPlan, type ContainerPlan } from "./dockerContainers";
export { Gateway, GATEWAY_DISK_GIB, type GatewayArgs, type GatewayPlacement } from "./gateway";
export { GATEWAY_PORT, RESERVED_SECRET_NAMES, SELF_SIGNED_TLS, gatewayTlsSecrets, renderAwsGatewayHost } from "./gatewayHost";
export { Network, VPC_CIDR, SUBNET_CIDR, type NetworkArgs } from "./network";
export {
  GATEWAY_GROUP,
  GATEWAY_PORTS,
  PATH_MTU_ICMP,
  chooseZone,
  clusterKey,
  clusterOfNode,
  keptZone,
  networkLayout,
  nodeGroup,
  placementGroupOfNode,
  type IngressRule,
  type NetworkLayout,
} from "./placement";
export { ec2AssumeRolePolicy, readSecretsPolicy, tagSelfPolicy, type PolicyDocument } from "./policies";
export { Readiness, readinessProbes, PROBE_SOURCE, type ReadinessArgs, type ReadinessProbe } from "./readiness";
export { Secrets, type SecretsArgs } from "./secrets";
export { SelfSignedTls, type SelfSignedTlsArgs } from "./selfSignedTls";
export {
  CONFIG_NAMESPACE,
  DEFAULT_GATEWAY_INSTANCE_TYPE,
  DEFAULT_READINESS_TIMEOUT_SECONDS,
  configIssues,
  fleetTags,
  gatewayOnAws,
  loadSettings,
  usesAws,
  type ConfigPresence,
  type Settings,
} from "./settings";
export { SshHost, installFromStdin, sshConnection, type SshHostArgs } from "./sshHost";
export { rangeAddresses, stageAddresses, stageRange, stageReplicas, type StageRange, type StageReplica } from "./stageAddresses";
