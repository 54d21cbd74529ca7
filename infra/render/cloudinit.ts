/**
 * cloud-init user data of an AWS node (#cloud-config): write_files for every file of the node
 * directory, then bin/install.sh, which installs and starts the systemd unit. Secret values are
 * never here (EC2 user data is readable by anyone who may describe the instance); the node reads
 * them from Secrets Manager at boot. Checked with `cloud-init schema` in test/render.
 */
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import type { NodePlan } from "../plan/types";
import { NODE_ROOT, SYSTEMD_UNIT } from "./layout";
import { renderTemplate, type Artifacts } from "./templates";

/** EC2 accepts at most 16 KB of user data (before base64). */
export const USER_DATA_LIMIT_BYTES = 16384;

/** What a machine image lacks for the bootstrap: apt packages, then commands, before bin/install.sh. */
export interface HostSetup {
  packages: string[];
  commands: string[][];
}

export function renderUserData(node: NodePlan, files: Artifacts, setup?: HostSetup): string {
  const writeFiles = Object.keys(files)
    .sort()
    .map((rel) => {
      const file = files[rel]!;
      if (file.secret) throw new Error(`render: ${rel} carries a secret and cannot go into the user data of node "${node.name}"`);
      return { path: `${NODE_ROOT}/${rel}`, owner: "root:root", permissions: `0${(file.mode ?? 0o644).toString(8)}`, content: file.contents };
    });
  const doc = {
    ...(setup && setup.packages.length > 0 ? { package_update: true, packages: setup.packages } : {}),
    write_files: writeFiles,
    runcmd: [...(setup?.commands ?? []), ["bash", `${NODE_ROOT}/bin/install.sh`]],
  };
  const body = stringify(doc, { lineWidth: 0, version: "1.1" });
  return renderTemplate("cloud-init/user-data.yaml.hbs", {
    node: node.name,
    instanceType: node.instanceType ?? "aws",
    root: NODE_ROOT,
    unit: SYSTEMD_UNIT,
    body,
  });
}

/**
 * User data as EC2 takes it (`userDataBase64`): plain when it fits, else gzip, which cloud-init
 * detects and unpacks. Fails when even the gzip is too large.
 */
export function encodeUserData(userData: string): { base64: string; gzipped: boolean; bytes: number } {
  const plain = Buffer.from(userData, "utf8");
  if (plain.length <= USER_DATA_LIMIT_BYTES) return { base64: plain.toString("base64"), gzipped: false, bytes: plain.length };
  const gz = gzipSync(plain, { level: 9 });
  if (gz.length > USER_DATA_LIMIT_BYTES) {
    throw new Error(`render: user data is ${gz.length} bytes even gzipped; EC2 allows ${USER_DATA_LIMIT_BYTES}`);
  }
  return { base64: gz.toString("base64"), gzipped: true, bytes: gz.length };
}
