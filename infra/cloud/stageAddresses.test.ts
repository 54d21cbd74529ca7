import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planFleet } from "../plan";
import type { FleetPlan } from "../plan/types";
import { loadSpecFile, loadStackSpec } from "../spec/load";
import { clusterKey } from "./placement";
import { rangeAddresses, stageAddresses, stageRange } from "./stageAddresses";

describe("stageAddresses", () => {
  const plan = planFleet(loadSpecFile("examples/mixed-gpu-vllm.yaml"));

  it("gives every stage node of a multi-node replica an address in the reserved range that sorts in stage order", () => {
    const ips = stageAddresses(plan, "10.42.0.0/20");
    const range = rangeAddresses(stageRange("10.42.0.0/20"));
    for (const model of plan.models) {
      for (const replica of model.replicas) {
        const stageIps = replica.nodes.map((n) => ips[n]!);
        expect(stageIps.every((ip) => range.includes(ip))).toBe(true);
        // vLLM sorts the worker IPs as strings: the order must already be the stage order.
        expect([...stageIps].sort()).toEqual(stageIps);
      }
    }
    expect(new Set(Object.values(ips)).size).toBe(Object.keys(ips).length);
  });

  it("reserves the upper half of the subnet's first /24, a /26 in a /24 subnet (its .255 is AWS's)", () => {
    expect(stageRange("10.42.0.0/20")).toMatchObject({ cidr: "10.42.0.128/25", size: 128 });
    expect(stageRange("172.31.7.0/24")).toMatchObject({ cidr: "172.31.7.128/26", size: 64 });
    expect(rangeAddresses(stageRange("172.31.7.0/24")).at(-1)).toBe("172.31.7.191");
    const ips = stageAddresses(plan, "172.31.7.0/24");
    expect(Object.values(ips).every((ip) => /^172\.31\.7\.1(2[89]|[3-8]\d|9[01])$/.test(ip))).toBe(true);
  });

  it("derives addresses from the replicas, not from spec order", () => {
    const reordered = planFleet(loadSpecFile("examples/mixed-gpu-vllm.yaml"));
    reordered.models.reverse();
    reordered.nodes.reverse();
    expect(stageAddresses(reordered, "10.42.0.0/20")).toEqual(stageAddresses(plan, "10.42.0.0/20"));
  });

  it("leaves single-node replicas to DHCP", () => {
    expect(stageAddresses(planFleet(loadStackSpec("dev")), "10.42.0.0/20")).toEqual({});
  });

  it("refuses a subnet too small to hold the range", () => {
    expect(() => stageAddresses(plan, "10.0.0.0/26")).toThrow(/smaller than a \/24/);
  });

  it("says so when the range is full", () => {
    expect(() => stageAddresses(synthetic(Array.from({ length: 40 }, () => 3)), "10.0.0.0/24")).toThrow(/has no 3 consecutive free addresses left for m\d+ replica 0/);
  });
});

/** A plan with just what stageAddresses reads: AWS nodes and multi-node replicas of these sizes. */
function synthetic(sizes: number[]): FleetPlan {
  const models = sizes.map((size, m) => ({ id: `m${m}`, replicas: [{ index: 0, nodes: Array.from({ length: size }, (_, i) => `m${m}-n${i}`) }] }));
  const nodes = models.flatMap((m) => m.replicas[0]!.nodes.map((name) => ({ name, provider: "aws" })));
  return { models, nodes } as unknown as FleetPlan;
}

describe("stageAddresses (properties)", () => {
  const sizes = fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 1, maxLength: 12 });

  it("never moves an existing replica's nodes when a newer replica is added, whatever the hashes", () => {
    fc.assert(
      fc.property(sizes, fc.integer({ min: 2, max: 4 }), fc.nat(11), (existing, added, at) => {
        const before = synthetic(existing);
        const seniority = Object.fromEntries(before.models.map((m) => [clusterKey(m.id, 0), "2026-01-01T00:00:00.000Z"]));
        const old = stageAddresses(before, "10.42.0.0/20", seniority);
        // The new model goes anywhere in the spec, under a name that sorts anywhere.
        const after = synthetic(existing);
        after.models.splice(Math.min(at, after.models.length), 0, { id: "added", replicas: [{ index: 0, nodes: Array.from({ length: added }, (_, i) => `added-n${i}`) }] } as never);
        after.nodes.push(...Array.from({ length: added }, (_, i) => ({ name: `added-n${i}`, provider: "aws" }) as never));
        const now = stageAddresses(after, "10.42.0.0/20", { ...seniority, [clusterKey("added", 0)]: "2026-02-01T00:00:00.000Z" });
        for (const [node, ip] of Object.entries(old)) expect(now[node]).toBe(ip);
      }),
      { numRuns: 200 },
    );
  });

  it("gives distinct in-range addresses that sort in stage order", () => {
    fc.assert(
      fc.property(sizes, (s) => {
        const p = synthetic(s);
        const ips = stageAddresses(p, "10.42.0.0/20");
        const range = rangeAddresses(stageRange("10.42.0.0/20"));
        expect(new Set(Object.values(ips)).size).toBe(Object.keys(ips).length);
        for (const m of p.models) {
          const stage = m.replicas[0]!.nodes.map((n) => ips[n]!);
          expect(stage.every((ip) => range.includes(ip))).toBe(true);
          expect([...stage].sort()).toEqual(stage);
        }
      }),
      { numRuns: 200 },
    );
  });
});
