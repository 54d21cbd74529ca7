/**
 * Which machine image each AWS instance boots. GPU nodes: the AWS Deep Learning Base OSS Nvidia
 * Driver GPU AMI (Ubuntu 24.04) — NVIDIA driver, Docker with the Compose plugin, the NVIDIA
 * Container Toolkit and the AWS CLI preinstalled, which is everything the rendered bootstrap
 * (bin/start.sh, bin/fetch-secrets.sh) assumes. Source: reference/aws-instances.json
 * notes.ami (DLAMI release notes; the SSM parameter path there is unverified, so the name filter
 * is used, as that note advises).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AmiQuery {
  owner: string;
  /** EC2 image name pattern; the eight "?" match each release's YYYYMMDD suffix. */
  nameFilter: string;
  architecture: "x86_64" | "arm64";
}

/** Every GPU instance type in infra/catalog is x86_64 (G5, G6, Gr6, G6e, G4dn, P4d, P4de, P5, P6). */
export const DEEP_LEARNING_AMI: AmiQuery = {
  owner: "amazon",
  nameFilter: "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04) ????????",
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
