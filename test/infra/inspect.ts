/** Reading a recorded program run: resources by type, user data decoded, secrets that must stay hidden. */
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { vi } from "vitest";
import { fakePem, runProgram, type ProgramRun, type RecordedResource, type ResourceModel } from "./harness";
import type { StackFixture } from "./stacks";

/** vitest: a fresh module graph, then the real program. */
export function runFixture(f: StackFixture, model?: ResourceModel): Promise<ProgramRun> {
  return runProgram(
    f.program,
    async () => {
      vi.resetModules();
      return (await import("../../infra/index.js")) as Record<string, unknown>;
    },
    model,
  );
}

export const T = {
  instance: "aws:ec2/instance:Instance",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  zone: "aws:route53/zone:Zone",
  record: "aws:route53/record:Record",
  placementGroup: "aws:ec2/placementGroup:PlacementGroup",
  subnet: "aws:ec2/subnet:Subnet",
  reservation: "aws:ec2/subnetCidrReservation:SubnetCidrReservation",
  stash: "pulumi:index:Stash",
  remote: "command:remote:Command",
  local: "command:local:Command",
  container: "docker:index/container:Container",
  image: "docker:index/remoteImage:RemoteImage",
  dockerProvider: "pulumi:providers:docker",
} as const;

export const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);

export function named(run: ProgramRun, type: string, name: string): RecordedResource {
  const found = run.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}; have: ${ofType(run, type).map((r) => r.name).join(", ")}`);
  return found;
}

/** EC2 user data as cloud-init reads it (gzip unpacked). */
export function userDataOf(instance: RecordedResource): string {
  const bytes = Buffer.from(String(instance.inputs.userDataBase64), "base64");
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
}

/**
 * Every value that must never be seen outside a secret: what the stack was given, plus what the
 * program generates (the engines' key, the self-signed TLS key), as the mocks produce them.
 */
export function hiddenValues(f: StackFixture): string[] {
  const engineKey = createHash("sha256").update(fakePem("secrets-engine-api-key")).digest("hex");
  return [...f.secretValues, engineKey, fakePem("gateway-tls-key")];
}

/** Security group resource name → the id the mocks gave it. */
export const sgId = (name: string) => `${name}-id`;
