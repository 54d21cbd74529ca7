/**
 * Secrets: the fleet's secret values as AWS Secrets Manager entries `<fleet>/<stack>/<name>`,
 * which AWS machines read at boot with their instance role (user data only ever names them).
 * Values come in as Pulumi secrets (stack config) or are generated here, and leave only as
 * secret Outputs, for the machines Pulumi delivers them to itself (ssh and docker hosts).
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

export interface SecretsArgs {
  /**
   * Secrets Manager name prefix.
   * @example "dev/dev"
   */
  prefix: string;
  /** Values by secret name, from secret config. */
  values: Record<string, pulumi.Input<string>>;
  /** Names whose value is generated once and kept in the stack state (the engines' API key). */
  generate: string[];
  /** Store in AWS Secrets Manager; false for fleets without any AWS machine. */
  storeInAws: boolean;
  tags: Record<string, string>;
}

export class Secrets extends pulumi.ComponentResource {
  /** Every value by name (configured and generated), each a secret Output. */
  readonly values: Record<string, pulumi.Output<string>>;
  /** Secrets Manager ARNs by name, resolved once the value is stored (empty when not stored in AWS). */
  readonly arns: Record<string, pulumi.Output<string>>;
  /** Secrets Manager names by secret name, `<prefix>/<name>`. */
  readonly ids: Record<string, string>;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:Secrets", name, {}, opts);
    const parent = { parent: this };
    this.values = {};
    this.arns = {};
    this.ids = {};

    for (const [secretName, value] of Object.entries(args.values)) this.values[secretName] = pulumi.secret(value);
    for (const secretName of args.generate) {
      if (this.values[secretName]) throw new Error(`secrets: "${secretName}" is both configured and generated`);
      // 256 random bits kept in the state (no @pulumi/random here): the hash of a generated key's PEM.
      const seed = new tls.PrivateKey(`${name}-${secretName}`, { algorithm: "ED25519" }, parent);
      this.values[secretName] = pulumi.secret(seed.privateKeyPem.apply((pem) => createHash("sha256").update(pem).digest("hex")));
    }

    for (const [secretName, value] of Object.entries(this.values)) {
      const id = `${args.prefix}/${secretName}`;
      this.ids[secretName] = id;
      if (!args.storeInAws) continue;
      const resourceName = `${name}-${secretName.replace(/\//g, "-")}`;
      const secret = new aws.secretsmanager.Secret(
        resourceName,
        {
          name: id,
          description: `llm-fleet: ${secretName}`,
          // The value's source of truth is the stack config: delete at once, so that a destroyed
          // preview stack can be created again under the same name.
          recoveryWindowInDays: 0,
          tags: args.tags,
        },
        parent,
      );
      const version = new aws.secretsmanager.SecretVersion(resourceName, { secretId: secret.id, secretString: value }, parent);
      // Through the version: whoever reads the ARN (an instance policy) waits until the value is there.
      this.arns[secretName] = pulumi.all([secret.arn, version.versionId]).apply(([arn]) => arn);
    }
    this.registerOutputs({ arns: this.arns, ids: this.ids });
  }
}
