/**
 * Which machine image each AWS instance boots, and when it changes.
 *
 * GPU nodes: the AWS Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04) — NVIDIA driver,
 * Docker with the Compose plugin, the NVIDIA Container Toolkit and the AWS CLI preinstalled,
 * which is everything the rendered bootstrap (bin/start.sh, bin/fetch-secrets.sh) assumes.
 * Source: reference/aws-instances.json notes.ami (DLAMI release notes; the SSM parameter path
 * there is unverified, so the name filter is used, as that note advises).
 *
 * The gateway: Canonical's Ubuntu 24.04 server image (8 GiB root), not the 100 GiB GPU image:
 * nginx runs in the official nginx container, so the machine needs Docker, the Compose plugin
 * and the AWS CLI, which its user data installs (gatewayHost.ts GATEWAY_HOST_SETUP).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AmiQuery {
  owner: string;
  /** EC2 image name pattern. */
  nameFilter: string;
  architecture: "x86_64" | "arm64";
}

/** Every GPU instance type in infra/catalog is x86_64 (G5, G6, Gr6, G6e, G4dn, P4d, P4de, P5, P6); "????????" is each release's YYYYMMDD. */
export const DEEP_LEARNING_AMI: AmiQuery = {
  owner: "amazon",
  nameFilter: "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04) ????????",
  architecture: "x86_64",
};

/**
 * Canonical (account 099720109477) publishes Ubuntu server images as
 * ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-<YYYYMMDD[.n]> (Ubuntu cloud images
 * docs, "Find Ubuntu images on AWS"). The default gateway type t3.small is x86_64.
 */
export const GATEWAY_AMI: AmiQuery = {
  owner: "099720109477",
  nameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
  architecture: "x86_64",
};

/** The newest available image matching the query, looked up at every preview and update. */
export function latestAmiId(query: AmiQuery, opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  return aws.ec2
    .getAmiOutput(
      {
        owners: [query.owner],
        mostRecent: true,
        filters: [
          { name: "name", values: [query.nameFilter] },
          { name: "architecture", values: [query.architecture] },
          { name: "state", values: ["available"] },
        ],
      },
      opts,
    )
    .apply((image) => image.id);
}
