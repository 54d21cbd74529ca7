/**
 * CPU memory bandwidth the planner assumes when a node's spec does not give cpu.bandwidthGBs. It
 * bounds the decode speed of layers kept in RAM; the plan prints it as an assumption with the
 * field to set, never silently.
 *
 * 51.2 GB/s is dual-channel DDR4-3200 (2 channels × 8 bytes × 3200 MT/s): the low end of a desktop
 * or small server today (DDR5-5600 dual channel is 89.6). On AWS the GPU instances' EPYC hosts have
 * 8 channels of DDR4-3200 per socket (204.8 GB/s), shared by every VM on the socket; an xlarge
 * slice is assumed to see the same conservative 51.2.
 */
export const ASSUMED_CPU_BANDWIDTH_GBS: { readonly [P in "aws" | "ssh" | "docker"]: number } = {
  aws: 51.2,
  ssh: 51.2,
  docker: 51.2,
};
