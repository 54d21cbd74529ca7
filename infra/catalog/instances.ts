/**
 * AWS GPU instance types of the families the catalog deploys to, every size, copied from
 * reference/aws-instances.json (families g5, g6, g6e, p4d, p4de, p5).
 *
 * - vcpu, memoryGiB, gpuCount: EC2 DescribeInstanceTypes as published by Karpenter (reference source
 *   "karpenter-instance-types": github:aws/karpenter-provider-aws@692ccdd0 website/content/en/preview/
 *   reference/instance-types.md, data of 2026-07-11).
 * - onDemandUSDPerHour: us-east-1, Linux, shared tenancy, On-Demand (reference source "karpenter-pricing":
 *   github:aws/karpenter-provider-aws@6fc13b52 pkg/providers/pricing/zz_generated.pricing_aws.go, generated
 *   2026-07-20T13:44:30Z); priceSource repeats the reference entry's priceSource and priceDate.
 * - gpu: the reference's gpuModel, which already uses the catalog's GpuId spelling.
 */
import type { InstanceType } from "./types";

const INSTANCE_LIST: readonly InstanceType[] = [
  // g5: A10G
  { instanceType: "g5.xlarge", family: "g5", gpu: "A10G", gpuCount: 1, vcpu: 4, memoryGiB: 16, onDemandUSDPerHour: 1.006, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g5.2xlarge", family: "g5", gpu: "A10G", gpuCount: 1, vcpu: 8, memoryGiB: 32, onDemandUSDPerHour: 1.212, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g5.4xlarge", family: "g5", gpu: "A10G", gpuCount: 1, vcpu: 16, memoryGiB: 64, onDemandUSDPerHour: 1.624, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g5.8xlarge", family: "g5", gpu: "A10G", gpuCount: 1, vcpu: 32, memoryGiB: 128, onDemandUSDPerHour: 2.448, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g5.16xlarge", family: "g5", gpu: "A10G", gpuCount: 1, vcpu: 64, memoryGiB: 256, onDemandUSDPerHour: 4.096, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g5.12xlarge", family: "g5", gpu: "A10G", gpuCount: 4, vcpu: 48, memoryGiB: 192, onDemandUSDPerHour: 5.672, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g5.24xlarge", family: "g5", gpu: "A10G", gpuCount: 4, vcpu: 96, memoryGiB: 384, onDemandUSDPerHour: 8.144, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g5.48xlarge", family: "g5", gpu: "A10G", gpuCount: 8, vcpu: 192, memoryGiB: 768, onDemandUSDPerHour: 16.288, priceSource: "karpenter-pricing 2026-07-20" },
  // g6: L4
  { instanceType: "g6.xlarge", family: "g6", gpu: "L4", gpuCount: 1, vcpu: 4, memoryGiB: 16, onDemandUSDPerHour: 0.8048, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6.2xlarge", family: "g6", gpu: "L4", gpuCount: 1, vcpu: 8, memoryGiB: 32, onDemandUSDPerHour: 0.9776, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6.4xlarge", family: "g6", gpu: "L4", gpuCount: 1, vcpu: 16, memoryGiB: 64, onDemandUSDPerHour: 1.3232, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6.8xlarge", family: "g6", gpu: "L4", gpuCount: 1, vcpu: 32, memoryGiB: 128, onDemandUSDPerHour: 2.0144, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6.16xlarge", family: "g6", gpu: "L4", gpuCount: 1, vcpu: 64, memoryGiB: 256, onDemandUSDPerHour: 3.3968, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6.12xlarge", family: "g6", gpu: "L4", gpuCount: 4, vcpu: 48, memoryGiB: 192, onDemandUSDPerHour: 4.6016, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6.24xlarge", family: "g6", gpu: "L4", gpuCount: 4, vcpu: 96, memoryGiB: 384, onDemandUSDPerHour: 6.6752, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6.48xlarge", family: "g6", gpu: "L4", gpuCount: 8, vcpu: 192, memoryGiB: 768, onDemandUSDPerHour: 13.3504, priceSource: "karpenter-pricing 2026-07-20" },
  // g6e: L40S
  { instanceType: "g6e.xlarge", family: "g6e", gpu: "L40S", gpuCount: 1, vcpu: 4, memoryGiB: 32, onDemandUSDPerHour: 1.861, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6e.2xlarge", family: "g6e", gpu: "L40S", gpuCount: 1, vcpu: 8, memoryGiB: 64, onDemandUSDPerHour: 2.24208, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6e.4xlarge", family: "g6e", gpu: "L40S", gpuCount: 1, vcpu: 16, memoryGiB: 128, onDemandUSDPerHour: 3.00424, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6e.8xlarge", family: "g6e", gpu: "L40S", gpuCount: 1, vcpu: 32, memoryGiB: 256, onDemandUSDPerHour: 4.52856, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6e.16xlarge", family: "g6e", gpu: "L40S", gpuCount: 1, vcpu: 64, memoryGiB: 512, onDemandUSDPerHour: 7.57719, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6e.12xlarge", family: "g6e", gpu: "L40S", gpuCount: 4, vcpu: 48, memoryGiB: 384, onDemandUSDPerHour: 10.49264, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6e.24xlarge", family: "g6e", gpu: "L40S", gpuCount: 4, vcpu: 96, memoryGiB: 768, onDemandUSDPerHour: 15.06559, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "g6e.48xlarge", family: "g6e", gpu: "L40S", gpuCount: 8, vcpu: 192, memoryGiB: 1536, onDemandUSDPerHour: 30.13118, priceSource: "karpenter-pricing 2026-07-20" },
  // p4d: A100-40GB
  { instanceType: "p4d.24xlarge", family: "p4d", gpu: "A100-40GB", gpuCount: 8, vcpu: 96, memoryGiB: 1152, onDemandUSDPerHour: 21.957642, priceSource: "karpenter-pricing 2026-07-20" },
  // p4de: A100-80GB
  { instanceType: "p4de.24xlarge", family: "p4de", gpu: "A100-80GB", gpuCount: 8, vcpu: 96, memoryGiB: 1152, onDemandUSDPerHour: 27.44705, priceSource: "karpenter-pricing 2026-07-20" },
  // p5: H100-SXM
  { instanceType: "p5.4xlarge", family: "p5", gpu: "H100-SXM", gpuCount: 1, vcpu: 16, memoryGiB: 256, onDemandUSDPerHour: 6.88, priceSource: "karpenter-pricing 2026-07-20" },
  { instanceType: "p5.48xlarge", family: "p5", gpu: "H100-SXM", gpuCount: 8, vcpu: 192, memoryGiB: 2048, onDemandUSDPerHour: 55.04, priceSource: "karpenter-pricing 2026-07-20" },
];

export const INSTANCE_TYPES: Readonly<Record<string, InstanceType>> = Object.fromEntries(
  INSTANCE_LIST.map((t) => [t.instanceType, t]),
);

/** Every catalogued instance type name, for "accepted: …" in error messages. */
export const INSTANCE_TYPE_NAMES: string[] = INSTANCE_LIST.map((t) => t.instanceType);

/** The instance type named `t` (case and surrounding space ignored); undefined when not catalogued. */
export function findInstanceType(t: string): InstanceType | undefined {
  return INSTANCE_TYPES[t.trim().toLowerCase()];
}
