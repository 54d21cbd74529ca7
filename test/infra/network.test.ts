/**
 * Who may talk to whom: the gateway only from the allowed CIDRs, engines only from the gateway,
 * Ray/NCCL only inside one replica, SSH from nowhere. Checked on the security group rules the
 * program declares for the mixed-GPU example (three multi-node replicas) and the dev stack, and
 * on the pure layout and zone choice.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { chooseZone, clusterKey, keptZone, networkLayout } from "../../infra/cloud/placement";
import { planFleet } from "../../infra/plan";
import { clusterPorts, RAY_PORTS } from "../../infra/render";
import { DEFAULT_METRICS_PORT } from "../../infra/render/usage/gateway";
import { fleet, GATEWAY } from "../support/specs";
import type { ProgramRun, RecordedResource } from "./harness";
import { T, named, ofType, runFixture, sgId } from "./inspect";
import { devFixture, exampleFixture } from "./stacks";

const covers = (rule: RecordedResource, port: number) => Number(rule.inputs.fromPort) <= port && port <= Number(rule.inputs.toPort);

describe.each([devFixture(), exampleFixture("mixed-gpu-vllm.yaml")].map((f) => [f.label, f] as const))("%s", (_label, f) => {
  let run: ProgramRun;
  let rules: RecordedResource[];
  beforeAll(async () => {
    run = await runFixture(f);
    rules = ofType(run, T.ingress);
  });

  it("opens only HTTPS on the gateway to the internet side, and only from gateway.allowedCidrs; ICMP only for path MTU discovery", () => {
    const open = rules.filter((r) => r.inputs.cidrIpv4 !== undefined || r.inputs.cidrIpv6 !== undefined);
    const icmp = open.filter((r) => r.inputs.ipProtocol === "icmp");
    // Type 3 code 4 ("fragmentation needed") from the routers on the path, wherever they are.
    expect(icmp.map((r) => r.inputs)).toEqual([expect.objectContaining({ securityGroupId: sgId("network-gateway"), fromPort: 3, toPort: 4, cidrIpv4: "0.0.0.0/0" })]);
    const tcp = open.filter((r) => r !== icmp[0]);
    expect(tcp.length).toBeGreaterThan(0);
    for (const r of tcp) {
      expect(r.inputs).toMatchObject({ securityGroupId: sgId("network-gateway"), ipProtocol: "tcp", fromPort: 443, toPort: 443 });
      expect(f.plan.gateway!.allowedCidrs).toContain(r.inputs.cidrIpv4);
    }
  });

  it("opens no engine port and no SSH to any CIDR", () => {
    const enginePorts = f.plan.nodes.flatMap((n) => n.placements.map((p) => p.port));
    for (const r of rules.filter((x) => x.inputs.cidrIpv4 !== undefined && x.inputs.ipProtocol === "tcp")) {
      for (const port of [...enginePorts, 22]) expect(covers(r, port), `${r.name} opens ${port}`).toBe(false);
    }
    for (const r of rules.filter((x) => x.inputs.ipProtocol === "tcp")) expect(covers(r, 22), r.name).toBe(false);
  });

  it("lets only the gateway's group reach each node's engine ports", () => {
    for (const node of f.plan.nodes.filter((n) => n.provider === "aws")) {
      const group = sgId(`network-node-${node.name}`);
      const own = rules.filter((r) => r.inputs.securityGroupId === group);
      const ports = [...new Set(node.placements.filter((p) => p.stage === 0).map((p) => p.port))];
      expect(own.map((r) => r.inputs.fromPort).sort()).toEqual(ports.sort());
      for (const r of own) expect(r.inputs).toMatchObject({ referencedSecurityGroupId: sgId("network-gateway"), toPort: r.inputs.fromPort });
      expect(named(run, T.instance, `node-${node.name}`).inputs.vpcSecurityGroupIds).toContain(group);
    }
  });

  it("keeps Ray and NCCL ports inside each multi-node replica: its own group, on exactly its instances", () => {
    const rayRules = rules.filter((r) => r.inputs.ipProtocol === "tcp" && (covers(r, RAY_PORTS.gcs) || covers(r, RAY_PORTS.minWorker) || covers(r, 40000)));
    const multiNode = f.plan.models.flatMap((m) => m.replicas.filter((r) => new Set(r.nodes).size > 1).map((r) => ({ key: clusterKey(m.id, r.index), nodes: r.nodes })));
    expect(rayRules.length).toBe(multiNode.length * 3);
    for (const r of rayRules) expect(r.inputs.referencedSecurityGroupId).toBe(r.inputs.securityGroupId);
    for (const { key, nodes } of multiNode) {
      const group = sgId(`network-${key}`);
      const withGroup = ofType(run, T.instance).filter((i) => (i.inputs.vpcSecurityGroupIds as string[]).includes(group)).map((i) => i.name);
      expect(withGroup.sort()).toEqual(nodes.map((n) => `node-${n}`).sort());
    }
    if (multiNode.length === 0) expect(ofType(run, T.placementGroup)).toHaveLength(0);
  });

  it("puts only nodes of one replica and one instance type in a cluster placement group (AWS: one type per group)", () => {
    const typeOf = new Map<string, string | undefined>(f.plan.nodes.map((n) => [`node-${n.name}`, n.instanceType]));
    const replicaOf = new Map<string, string>(f.plan.models.flatMap((m) => m.replicas.flatMap((r) => r.nodes.map((n) => [`node-${n}`, `${m.id}/${r.index}`] as [string, string]))));
    const groups = new Map<string, string[]>();
    for (const i of ofType(run, T.instance).filter((x) => x.inputs.placementGroup !== undefined)) {
      groups.set(String(i.inputs.placementGroup), [...(groups.get(String(i.inputs.placementGroup)) ?? []), i.name]);
    }
    for (const pg of ofType(run, T.placementGroup)) expect(pg.inputs.strategy).toBe("cluster");
    expect(groups.size).toBe(ofType(run, T.placementGroup).length);
    for (const [group, members] of groups) {
      expect(members.length, group).toBeGreaterThanOrEqual(2);
      expect(new Set(members.map((m) => typeOf.get(m))).size, group).toBe(1);
      expect(new Set(members.map((m) => replicaOf.get(m))).size, group).toBe(1);
    }
    // Every multi-node replica's same-type nodes are grouped; a lone type in a replica is not.
    for (const m of f.plan.models) {
      for (const r of m.replicas.filter((x) => new Set(x.nodes).size > 1)) {
        for (const n of r.nodes) {
          const sameType = r.nodes.filter((o) => typeOf.get(`node-${o}`) === typeOf.get(`node-${n}`)).length;
          expect(named(run, T.instance, `node-${n}`).inputs.placementGroup === undefined, n).toBe(sameType < 2);
        }
      }
    }
  });

  it("lets every group reach out (images, weights, SSM, Secrets Manager) and nothing else in", () => {
    const groups = ofType(run, T.sg).map((g) => sgId(g.name));
    const egress = ofType(run, T.egress);
    expect(egress.map((e) => e.inputs.securityGroupId).sort()).toEqual([...groups].sort());
    for (const e of egress) expect(e.inputs).toMatchObject({ ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" });
  });
});

describe("networkLayout (pure)", () => {
  const nodes = [
    { name: "a", provider: "aws", instanceType: "g6e.xlarge" },
    { name: "b", provider: "aws", instanceType: "g6e.xlarge" },
    { name: "box", provider: "ssh", host: "ops@box", gpus: ["L40S"] },
  ];
  const model = (id: string, replicaNodes: string[]) => ({ id, engine: "vllm", source: { hf: "Qwen/Qwen3-32B-AWQ" }, quantization: "awq", replicas: [{ nodes: replicaNodes }] });

  it("gives a two-node replica one group whose every cluster port admits only itself", () => {
    const layout = networkLayout(planFleet(fleet(nodes.slice(0, 2), [model("q", ["a", "b"])])), ["10.0.0.0/8"]);
    const key = clusterKey("q", 0);
    expect(layout.clusters).toEqual({ [key]: ["a", "b"] });
    expect(layout.nodeGroups).toEqual({ a: ["node-a", key], b: ["node-b", key] });
    const cluster = layout.rules.filter((r) => r.group === key);
    expect(cluster.map((r) => [r.fromPort, r.toPort])).toEqual(clusterPorts().map((p) => [p.from, p.to]));
    for (const r of cluster) expect(r.source).toEqual({ group: key });
    expect(layout.rules.filter((r) => "cidr" in r.source)).toEqual([
      { group: "gateway", protocol: "tcp", fromPort: 443, toPort: 443, source: { cidr: "10.0.0.0/8" }, description: "gateway https from 10.0.0.0/8" },
      { group: "gateway", protocol: "icmp", fromPort: 3, toPort: 4, source: { cidr: "0.0.0.0/0" }, description: "path MTU discovery: ICMP fragmentation needed" },
    ]);
    expect(layout.placementGroups).toEqual({ [`${key}-g6e-xlarge`]: ["a", "b"] });
  });

  it("opens the metrics port to gateway.metricsCidrs only, never to allowedCidrs", () => {
    const metricsRules = (metricsCidrs: string[]) =>
      networkLayout(planFleet(fleet(nodes.slice(0, 1), [model("q", ["a"])], { gateway: { ...GATEWAY, metering: true, metricsCidrs } })), ["203.0.113.0/24"]).rules.filter(
        (r) => r.fromPort <= DEFAULT_METRICS_PORT && DEFAULT_METRICS_PORT <= r.toPort && r.protocol === "tcp",
      );
    expect(metricsRules(["10.1.0.0/16"])).toEqual([
      { group: "gateway", protocol: "tcp", fromPort: DEFAULT_METRICS_PORT, toPort: DEFAULT_METRICS_PORT, source: { cidr: "10.1.0.0/16" }, description: "gateway metrics from 10.1.0.0/16" },
    ]);
    expect(metricsRules([])).toEqual([]);
  });

  it("opens the port of an engine with metrics to gateway.metricsCidrs (where prometheus.yml scrapes it), never Ollama's", () => {
    const engines = [
      model("q", ["a"]),
      { id: "o", engine: "ollama", source: { ollama: "qwen2.5:7b" }, replicas: [{ nodes: ["a"] }] },
    ];
    const fromCidrs = (metricsCidrs: string[]) =>
      networkLayout(planFleet(fleet(nodes.slice(0, 1), engines, { gateway: { ...GATEWAY, metering: true, metricsCidrs } })), ["203.0.113.0/24"]).rules.filter(
        (r) => r.group === "node-a" && "cidr" in r.source,
      );
    const plan = planFleet(fleet(nodes.slice(0, 1), engines, { gateway: { ...GATEWAY, metering: true, metricsCidrs: ["10.1.0.0/16"] } }));
    const vllmPort = plan.nodes[0]!.placements.find((p) => p.model === "q")!.port;
    const ollamaPort = plan.nodes[0]!.placements.find((p) => p.model === "o")!.port;
    expect(vllmPort).not.toBe(ollamaPort);
    const expected = [{ group: "node-a", protocol: "tcp", fromPort: vllmPort, toPort: vllmPort, source: { cidr: "10.1.0.0/16" }, description: `engine metrics (port ${vllmPort}) from 10.1.0.0/16` }];
    expect(fromCidrs(["10.1.0.0/16"])).toEqual(expected);
    expect(fromCidrs([])).toEqual([]);
  });

  it("has no gateway rule at all when no CIDR is allowed", () => {
    const plan = planFleet(fleet(nodes.slice(0, 1), [model("q", ["a"])]));
    expect(networkLayout(plan, []).rules.filter((r) => r.group === "gateway")).toEqual([]);
  });
});

describe("chooseZone (pure)", () => {
  const offers = (zone: string, ...types: string[]) => types.map((instanceType) => ({ zone, instanceType }));
  it("takes the first zone by name that offers every type", () => {
    const offerings = [...offers("us-east-1a", "g6e.xlarge"), ...offers("us-east-1c", "g6e.xlarge", "g5.xlarge"), ...offers("us-east-1b", "g6e.xlarge", "g5.xlarge")];
    expect(chooseZone(["us-east-1c", "us-east-1a", "us-east-1b"], offerings, ["g5.xlarge", "g6e.xlarge"])).toBe("us-east-1b");
  });
  it("says where each type is offered when no zone has them all", () => {
    const offerings = [...offers("us-east-1a", "g6e.xlarge"), ...offers("us-east-1b", "p5.48xlarge")];
    expect(() => chooseZone(["us-east-1a", "us-east-1b"], offerings, ["g6e.xlarge", "p5.48xlarge"])).toThrow(
      "no availability zone offers every instance type of the fleet (g6e.xlarge, p5.48xlarge); g6e.xlarge: us-east-1a; p5.48xlarge: us-east-1b. Use types offered in one zone",
    );
  });
  it("keeps the stack's zone while it offers every type, and otherwise says where the type is and how to move on purpose", () => {
    const offerings = [...offers("us-east-1b", "g6e.xlarge"), ...offers("us-east-1c", "g6e.xlarge", "g6e.12xlarge")];
    expect(keptZone("us-east-1b", offerings, ["g6e.xlarge"])).toBe("us-east-1b");
    expect(() => keptZone("us-east-1b", offerings, ["g6e.xlarge", "g6e.12xlarge"])).toThrow(
      "the fleet's availability zone us-east-1b (kept since the stack's first update: its subnet and instances are there) does not offer g6e.12xlarge; g6e.12xlarge: us-east-1c. " +
        "Use an instance type offered in us-east-1b, or move the whole fleet on purpose with pulumi config set llm-fleet:availabilityZone us-east-1c (replaces the subnet and every instance)",
    );
    expect(() => keptZone("us-east-1b", offers("us-east-1b", "g6e.xlarge"), ["g6e.xlarge", "p5.48xlarge"])).toThrow(/p5\.48xlarge: nowhere in this region\. Use an instance type offered in us-east-1b$/);
  });
  it("keeps a pinned zone only if it offers every type", () => {
    const offerings = offers("us-east-1a", "g6e.xlarge");
    expect(chooseZone(["us-east-1a"], offerings, ["g6e.xlarge"], "us-east-1a")).toBe("us-east-1a");
    expect(() => chooseZone(["us-east-1a"], offerings, ["g6e.xlarge", "t3.small"], "us-east-1a")).toThrow(/does not offer t3.small; .*t3.small: nowhere in this region/);
  });
});

