/**
 * AWS machines as `pulumi up` would create them: instance type, disk, IMDSv2, image, spot, what
 * each instance role may do, names in the private zone, the gateway instance and its address.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DEEP_LEARNING_AMI, GATEWAY_AMI } from "../../infra/cloud/ami";
import { GATEWAY_DISK_GIB } from "../../infra/cloud/gateway";
import { gunzipSync } from "node:zlib";
import { GATEWAY_FILES_SECRET, gatewayTlsSecrets } from "../../infra/cloud/gatewayHost";
import { nginxEnvSecrets } from "../../infra/plan/secrets";
import { DEFAULT_GATEWAY_INSTANCE_TYPE } from "../../infra/cloud/settings";
import { gatewayPrivateName, privateZoneName } from "../../infra/plan";
import { AWS_BOOT_ACTIONS, READY_TAG_KEY, secretsOfNode } from "../../infra/render";
import type { ProgramRun } from "./harness";
import { T, named, ofType, runFixture, userDataOf } from "./inspect";
import { devFixture, exampleFixture, type StackFixture } from "./stacks";

const awsStacks = [devFixture(), exampleFixture("mixed-gpu-vllm.yaml")];

/** Secrets Manager ARN the mocks gave the secret with this name. */
const arnOf = (run: ProgramRun, id: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`;

describe.each(awsStacks.map((f) => [f.label, f] as const))("%s", (_label, f: StackFixture) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runFixture(f);
  });
  const awsNodes = f.plan.nodes.filter((n) => n.provider === "aws");

  it("creates one instance per AWS node with the planned type, an encrypted gp3 root of the planned size and IMDSv2 only", () => {
    for (const node of awsNodes) {
      const i = named(run, T.instance, `node-${node.name}`).inputs;
      expect(i.instanceType).toBe(node.instanceType);
      expect(i.rootBlockDevice).toMatchObject({ volumeType: "gp3", encrypted: true, volumeSize: node.diskGiB, deleteOnTermination: true });
      expect(i.metadataOptions).toMatchObject({ httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 });
      expect(i.userDataReplaceOnChange).toBe(true);
      expect(i.instanceMarketOptions).toBeUndefined();
      expect(i.tags).toMatchObject({ fleet: f.plan.name, stack: f.program.stack, node: node.name, model: [...new Set(node.placements.map((p) => p.model))].join(" ") });
      expect(i.tags).not.toHaveProperty("expires-at");
      expect(i.keyName).toBeUndefined();
    }
  });

  it("gives the stage nodes of multi-node replicas fixed addresses that sort in stage order (vLLM ranks Ray workers by IP)", () => {
    for (const model of f.plan.models) {
      for (const replica of model.replicas) {
        const ips = replica.nodes.map((n) => named(run, T.instance, `node-${n}`).inputs.privateIp as string | undefined);
        if (replica.nodes.length === 1) {
          expect(ips[0]).toBeUndefined();
          continue;
        }
        expect(ips.every((ip) => typeof ip === "string" && ip.startsWith("10.42."))).toBe(true);
        expect([...ips].sort()).toEqual(ips);
      }
    }
  });

  it("boots GPU nodes from the newest Deep Learning AMI (Amazon's) and the gateway from Canonical's Ubuntu 24.04 server image", () => {
    const lookups = run.calls.filter((c) => c.token === "aws:ec2/getAmi:getAmi");
    expect(lookups).toHaveLength(2);
    const byOwner = Object.fromEntries(lookups.map((l) => [(l.inputs.owners as string[])[0], l.inputs]));
    expect(byOwner.amazon).toMatchObject({ mostRecent: true });
    expect(byOwner.amazon!.filters).toContainEqual({ name: "name", values: [DEEP_LEARNING_AMI.nameFilter] });
    expect(byOwner["099720109477"]).toMatchObject({ mostRecent: true });
    expect(byOwner["099720109477"]!.filters).toContainEqual({ name: "name", values: [GATEWAY_AMI.nameFilter] });
    expect(GATEWAY_AMI.nameFilter).toMatch(/^ubuntu\/images\/hvm-ssd-gp3\/ubuntu-noble-24\.04-amd64-server-/);
    for (const node of awsNodes) expect(named(run, T.instance, `node-${node.name}`).inputs.ami).toBe("ami-0dlami2404");
    const gw = named(run, T.instance, "gateway-machine").inputs;
    expect(gw.ami).toBe("ami-0ubuntu2404");
    expect(gw.rootBlockDevice).toMatchObject({ volumeSize: GATEWAY_DISK_GIB });
    expect(GATEWAY_DISK_GIB).toBeLessThanOrEqual(20);
  });

  it("replaces GPU nodes delete-first (fixed addresses, vCPU quota) and the gateway create-first; no image is pinned by ignoreChanges", () => {
    for (const node of awsNodes) {
      const options = named(run, T.instance, `node-${node.name}`).options;
      expect(options.deleteBeforeReplace, node.name).toBe(true);
      expect(options.ignoreChanges).not.toContain("ami");
    }
    const gw = named(run, T.instance, "gateway-machine").options;
    expect(gw.deleteBeforeReplace).toBe(false);
    expect(gw.replacementTrigger).toMatch(/^[0-9a-f]{64}$/);
  });

  it("runs each node's rendered user data, which names exactly the secrets its role may read", () => {
    for (const node of awsNodes) {
      const instance = named(run, T.instance, `node-${node.name}`);
      expect(userDataOf(instance)).toContain(`llm-fleet node "${node.name}"`);
      const ids = secretsOfNode(f.plan, node.name, { stack: f.program.stack }).map((s) => s.awsSecretId!);
      const policy = JSON.parse(String(named(run, T.rolePolicy, `node-${node.name}-read-secrets`).inputs.policy));
      expect(policy.Statement).toEqual([{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: ids.map((id) => arnOf(run, id)).sort() }]);
      for (const id of ids) expect(userDataOf(instance)).toContain(id);
    }
  });

  it("lets a node tag only itself with its status, and use Session Manager instead of SSH", () => {
    expect([...AWS_BOOT_ACTIONS].sort()).toEqual(["ec2:CreateTags", "secretsmanager:GetSecretValue"]);
    for (const node of awsNodes) {
      const tagSelf = JSON.parse(String(named(run, T.rolePolicy, `node-${node.name}-report-status`).inputs.policy));
      expect(tagSelf.Statement).toEqual([
        { Effect: "Allow", Action: "ec2:CreateTags", Resource: expect.stringMatching(/:instance\/i-node-/), Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": [READY_TAG_KEY] } } },
      ]);
      expect(named(run, T.attachment, `node-${node.name}-ssm`).inputs.policyArn).toBe("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
    }
    const policies = ofType(run, T.rolePolicy).map((p) => JSON.parse(String(p.inputs.policy)) as { Statement: { Action: string; Resource: unknown }[] });
    for (const p of policies) for (const s of p.Statement) expect(s.Resource).not.toBe("*");
  });

  it("names every AWS node and the gateway instance in the fleet's private zone with its private IP", () => {
    const [zone] = ofType(run, T.zone);
    expect(zone!.inputs).toMatchObject({ name: privateZoneName(f.plan.name), vpcs: [{ vpcId: "network-vpc-id" }] });
    const records = ofType(run, T.record);
    // The gateway's name is what monitoring/prometheus.yml scrapes (gatewayMetricsTarget).
    expect(gatewayPrivateName(f.plan.name)).toBe(`gateway.${privateZoneName(f.plan.name)}`);
    expect(records.map((r) => r.inputs.name).sort()).toEqual([...awsNodes.map((n) => n.address), gatewayPrivateName(f.plan.name)].sort());
    for (const r of records) expect(r.inputs).toMatchObject({ type: "A", zoneId: "ZNETWORK-DNS", records: [expect.stringMatching(/^10\.42\.0\.\d+$/)] });
  });

  it("puts every machine in the first zone that offers all its instance types", () => {
    const offerings = run.calls.find((c) => c.token === "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings")!;
    const asked = (offerings.inputs.filters as { values: string[] }[])[0]!.values;
    expect(asked.sort()).toEqual([...new Set([...awsNodes.map((n) => n.instanceType!), DEFAULT_GATEWAY_INSTANCE_TYPE])].sort());
    expect(named(run, "aws:ec2/subnet:Subnet", "network-subnet").inputs.availabilityZone).toBe("us-east-1b");
  });

  it("runs the gateway on a small instance behind an Elastic IP, reading only its own secrets", () => {
    const gw = named(run, T.instance, "gateway-machine");
    expect(gw.inputs.instanceType).toBe(DEFAULT_GATEWAY_INSTANCE_TYPE);
    expect(gw.inputs.vpcSecurityGroupIds).toEqual(["network-gateway-id"]);
    expect(gw.inputs.metadataOptions).toMatchObject({ httpTokens: "required" });
    expect(named(run, "aws:ec2/eipAssociation:EipAssociation", "gateway-address").inputs).toMatchObject({ instanceId: "gateway-machine-id", allocationId: "eipalloc-gateway-address" });
    const tls = gatewayTlsSecrets(f.plan);
    const ids = [...nginxEnvSecrets(f.plan, true), tls.certificateSecret, tls.keySecret].map((s) => `${f.plan.name}/${f.program.stack}/${s}`);
    const filesId = `${f.plan.name}/${f.program.stack}/${GATEWAY_FILES_SECRET}`;
    const policy = JSON.parse(String(named(run, T.rolePolicy, "gateway-machine-read-secrets").inputs.policy));
    expect(policy.Statement[0].Resource).toEqual([...ids, filesId].map((id) => arnOf(run, id)).sort());
    const text = userDataOf(gw);
    expect(text).toContain("/etc/nginx/nginx.conf");
    for (const id of [...ids, filesId]) expect(text).toContain(id);
    // The nginx files: stored as one secret, read at first boot.
    const stored = ofType(run, T.secretVersion).find((v) => v.name === `gateway-files-${GATEWAY_FILES_SECRET}`);
    const packed = JSON.parse(gunzipSync(Buffer.from(String(stored!.inputs.secretString), "base64")).toString("utf8")) as Record<string, string>;
    expect(packed["gateway/nginx.conf"]).toContain("listen 0.0.0.0:443 ssl");
  });
});

describe("stack config that changes AWS resources", () => {
  it("runs a node on spot capacity when the spec says so, one-time so nothing outlives the stack", async () => {
    const base = devFixture();
    const spec = structuredClone(base.program.config["llm-fleet:fleet"]) as { nodes: { name: string; spot?: boolean }[] };
    spec.nodes[1]!.spot = true;
    const run = await runFixture({ ...base, program: { ...base.program, config: { ...base.program.config, "llm-fleet:fleet": spec } } });
    expect(named(run, T.instance, `node-${spec.nodes[1]!.name}`).inputs.instanceMarketOptions).toEqual({
      marketType: "spot",
      spotOptions: { spotInstanceType: "one-time", instanceInterruptionBehavior: "terminate" },
    });
    expect(named(run, T.instance, `node-${spec.nodes[0]!.name}`).inputs.instanceMarketOptions).toBeUndefined();
  });

  it("tags every taggable AWS resource with expires-at when llm-fleet:expiresAt is set", async () => {
    const run = await runFixture(devFixture({ "llm-fleet:expiresAt": "2031-01-02T03:04:05Z" }));
    const tagged = run.resources.filter((r) => r.type.startsWith("aws:") && "tags" in r.inputs);
    expect(tagged.length).toBeGreaterThan(20);
    for (const r of tagged) expect(r.inputs.tags, `${r.type} ${r.name}`).toMatchObject({ fleet: "dev", stack: "dev", "expires-at": "2031-01-02T03:04:05Z" });
    for (const i of ofType(run, T.instance)) expect((i.inputs.rootBlockDevice as { tags: object }).tags).toMatchObject({ "expires-at": "2031-01-02T03:04:05Z" });
  });
});
