/**
 * IAM policy documents of the fleet's instance roles, as pure functions of ARNs, so tests can
 * read exactly what a machine may do: read its own secrets, and tag itself with its status.
 * Everything else a node needs (Session Manager) is the AWS managed AmazonSSMManagedInstanceCore.
 */

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Effect: "Allow" | "Deny";
    Action: string | string[];
    Resource?: string | string[];
    Principal?: Record<string, string>;
    Condition?: Record<string, Record<string, string | string[]>>;
  }[];
}

export function ec2AssumeRolePolicy(): PolicyDocument {
  return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "ec2.amazonaws.com" } }] };
}

/** GetSecretValue on exactly these secrets (bin/fetch-secrets.sh at every boot). */
export function readSecretsPolicy(secretArns: string[]): PolicyDocument {
  if (secretArns.length === 0) throw new Error("policies: a read-secrets policy needs at least one secret");
  return { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: [...secretArns].sort() }] };
}

/** CreateTags on this instance only, and only the one status tag (bin/report-ready.sh). */
export function tagSelfPolicy(instanceArn: string, tagKey: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "ec2:CreateTags", Resource: instanceArn, Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": [tagKey] } } }],
  };
}
