import { describe, expect, it } from "vitest";
import { planFleet } from "../plan";
import { loadSpecFile, loadStackSpec } from "../spec/load";
import { stageAddresses } from "./stageAddresses";

describe("stageAddresses", () => {
  const plan = planFleet(loadSpecFile("examples/mixed-gpu-vllm.yaml"));

  it("gives every stage node of a multi-node replica an address that sorts in stage order", () => {
    const ips = stageAddresses(plan, "10.42.0.0/20");
    for (const model of plan.models) {
      for (const replica of model.replicas) {
        const stageIps = replica.nodes.map((n) => ips[n]!);
        expect(stageIps.every(Boolean)).toBe(true);
        // vLLM sorts the worker IPs as strings: the order must already be the stage order.
        expect([...stageIps].sort()).toEqual(stageIps);
      }
    }
    expect(ips["r1-l40s-1"]).toBe("10.42.0.103");
    expect(new Set(Object.values(ips)).size).toBe(Object.keys(ips).length);
  });

  it("stays inside an existing /24 subnet", () => {
    const ips = stageAddresses(plan, "172.31.7.0/24");
    expect(Object.values(ips).every((ip) => /^172\.31\.7\.(1\d\d|2[0-4]\d)$/.test(ip))).toBe(true);
  });

  it("leaves single-node replicas to DHCP", () => {
    expect(stageAddresses(planFleet(loadStackSpec("dev")), "10.42.0.0/20")).toEqual({});
  });

  it("refuses a subnet too small to hold the addresses", () => {
    expect(() => stageAddresses(plan, "10.0.0.0/26")).toThrow(/smaller than a \/24/);
  });
});
