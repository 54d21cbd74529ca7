/**
 * The AWS program over a stack's life — create, change, replace, a new AMI, a renewed
 * certificate, a zone that AWS reshuffles, a new model — against a stateful stand-in for the
 * engine and EC2 (aws-world.ts) that refuses what AWS refuses. Each "control" replays a case
 * with one safeguard removed and shows the same model failing, so the passing case means
 * something.
 */
import { describe, expect, it } from "vitest";
import { SUBNET_CIDR, checkStageRangeFree, type StageRangeLookups } from "../../infra/cloud/network";
import { rangeAddresses, stageRange, stageReplicas } from "../../infra/cloud/stageAddresses";
import { AwsWorld } from "./aws-world";
import type { ProgramRun, ResourceModel } from "./harness";
import { T, named, ofType, runFixture } from "./inspect";
import { devFixture, exampleFixture, fixture, type StackFixture } from "./stacks";

type Spec = { nodes: Record<string, unknown>[]; models: Record<string, unknown>[]; gateway: Record<string, unknown> };

async function up(world: AwsWorld, f: StackFixture, opts: { forceReplace?: string[]; model?: ResourceModel } = {}): Promise<ProgramRun> {
  world.begin(opts.forceReplace);
  const run = await runFixture(f, opts.model ?? world);
  world.finish();
  return run;
}

/** The same stack with its spec changed (and any extra stack config). */
function changed(f: StackFixture, edit: (spec: Spec) => void, extraConfig: Record<string, unknown> = {}): StackFixture {
  const spec = structuredClone(f.program.config["llm-fleet:fleet"]) as Spec;
  edit(spec);
  return fixture(f.label, f.program.stack, spec, extraConfig);
}

/** The world, with one engine option the program sets ignored. */
function without(world: AwsWorld, what: "deleteBeforeReplace" | "reservation"): ResourceModel {
  return {
    register: (type, name, inputs, options) =>
      what === "reservation" && type === T.reservation
        ? { id: `${name}-unreserved`, state: inputs }
        : world.register(type, name, inputs, what === "deleteBeforeReplace" ? { ...options, deleteBeforeReplace: false } : options),
    call: (token, inputs) => world.call(token, inputs),
  };
}

/** AWS nodes whose user data differs between two runs (their instances are replaced). */
const userDataChanged = (a: ProgramRun, b: ProgramRun) =>
  ofType(b, T.instance)
    .filter((i) => i.name.startsWith("node-") && i.inputs.userDataBase64 !== named(a, T.instance, i.name).inputs.userDataBase64)
    .map((i) => i.name.slice("node-".length));
const ipOf = (run: ProgramRun, node: string) => named(run, T.instance, `node-${node}`).inputs.privateIp as string | undefined;
const stageNodes = (f: StackFixture) => stageReplicas(f.plan).flatMap((r) => r.nodes);
const mixed = () => exampleFixture("mixed-gpu-vllm.yaml");
/** A longer context for qwen3-32b: new launch flags, so new user data for its three stage nodes. */
const longerQwenContext = (spec: Spec) => {
  spec.models[0]!.contextLength = 16384;
};

describe("pipeline stage nodes keep fixed addresses through replacements (item 3)", () => {
  it("replaces a stage node delete-first, so its successor gets the same address without InvalidIPAddress.InUse", async () => {
    const world = new AwsWorld();
    const f = mixed();
    const before = await up(world, f);
    expect(world.errors).toEqual([]);
    const after = await up(world, changed(f, longerQwenContext));
    expect(world.errors).toEqual([]);
    const rewritten = userDataChanged(before, after);
    expect(rewritten.length).toBeGreaterThan(0);
    for (const node of rewritten) {
      expect(stageNodes(f)).toContain(node);
      expect(world.steps.get(`${T.instance}::node-${node}`), node).toBe("replace");
      expect(world.deletedFirst.has(`${T.instance}::node-${node}`), node).toBe(true);
      expect(ipOf(after, node)).toBe(ipOf(before, node));
    }
    for (const node of ["r1-l40s-1", "dev-l4"]) expect(world.steps.get(`${T.instance}::node-${node}`)).toBe("same");
  });

  it("control: the same change with Pulumi's default create-before-delete fails as EC2 does", async () => {
    const world = new AwsWorld();
    const f = mixed();
    await up(world, f);
    await up(world, changed(f, longerQwenContext), { model: without(world, "deleteBeforeReplace") });
    expect(world.errors.join("\n")).toMatch(/InvalidIPAddress\.InUse: Address 10\.42\.0\.\d+ is in use/);
  });

  it("does not move any existing node when a pipeline model is inserted before the others in the spec", async () => {
    const world = new AwsWorld();
    const f = mixed();
    const before = await up(world, f);
    const inserted = changed(f, (spec) => {
      spec.nodes.unshift({ name: "ins-l40s-1", provider: "aws", instanceType: "g6e.xlarge" }, { name: "ins-l40s-2", provider: "aws", instanceType: "g6e.xlarge" });
      spec.models.unshift({ ...structuredClone(spec.models[0]!), id: "qwen3-32b-pair", aliases: [], replicas: [{ nodes: ["ins-l40s-1", "ins-l40s-2"] }] });
    });
    const after = await up(world, inserted);
    expect(world.errors).toEqual([]);
    for (const node of stageNodes(f)) {
      expect(world.steps.get(`${T.instance}::node-${node}`), node).toBe("same");
      expect(ipOf(after, node)).toBe(ipOf(before, node));
    }
    const all = stageNodes(inserted).map((n) => ipOf(after, n)!);
    expect(new Set(all).size).toBe(all.length);
    expect([ipOf(after, "ins-l40s-1")!, ipOf(after, "ins-l40s-2")!].sort()).toEqual([ipOf(after, "ins-l40s-1"), ipOf(after, "ins-l40s-2")]);
  });
});

describe("the stage range is reserved before any machine launches (item 11)", () => {
  /** A single-GPU node before the pipelines: it launches by DHCP while the stage nodes wait for their addresses. */
  const withDhcpNodeFirst = () =>
    changed(mixed(), (spec) => {
      spec.nodes.unshift({ name: "solo", provider: "aws", instanceType: "g6e.xlarge" });
      spec.models.unshift({ ...structuredClone(spec.models[0]!), id: "solo-qwen", aliases: [], replicas: [{ nodes: ["solo"] }] });
    });
  const stageAddresses = rangeAddresses(stageRange(SUBNET_CIDR));

  it("reserves the range explicitly inside the subnet, and DHCP never hands out a stage address", async () => {
    const world = new AwsWorld({ dhcpPrefers: stageAddresses });
    const f = withDhcpNodeFirst();
    const run = await up(world, f);
    expect(world.errors).toEqual([]);
    const [reservation] = ofType(run, T.reservation);
    expect(reservation!.inputs).toMatchObject({ reservationType: "explicit", cidrBlock: stageRange(SUBNET_CIDR).cidr, subnetId: named(run, T.subnet, "network-subnet").inputs.id ?? expect.any(String) });
    expect(stageAddresses).not.toContain(world.stored(T.instance, "node-solo")!.outputs.privateIp);
    expect(stageAddresses).not.toContain(world.stored(T.instance, "gateway-machine")!.outputs.privateIp);
    for (const node of stageNodes(f)) expect(stageAddresses).toContain(ipOf(run, node));
  });

  it("keeps a stage address for its node while another machine launches by DHCP between the delete and the create of a replacement", async () => {
    const world = new AwsWorld({ dhcpPrefers: stageAddresses, concurrentDhcpLaunch: true });
    const f = mixed();
    const before = await up(world, f);
    const after = await up(world, changed(f, longerQwenContext));
    expect(world.errors).toEqual([]);
    for (const node of userDataChanged(before, after)) expect(world.holderOf(ipOf(after, node)!)).toBe(`${T.instance}::node-${node}`);
  });

  it("control: without the reservation, that machine takes the freed stage address and the replacement fails", async () => {
    const world = new AwsWorld({ dhcpPrefers: stageAddresses, concurrentDhcpLaunch: true });
    const f = mixed();
    await up(world, f, { model: without(world, "reservation") });
    await up(world, changed(f, longerQwenContext), { model: without(world, "reservation") });
    expect(world.errors.join("\n")).toMatch(/InvalidIPAddress\.InUse: Address 10\.42\.0\.\d+ is in use \(by foreign::/);
  });

  it("in an existing VPC, refuses a subnet whose stage range holds another machine's address, and accepts this stack's own", async () => {
    const asked: string[][] = [];
    const lookups = (holders: string[], own: string[]): StageRangeLookups => ({
      interfacesHolding: async (_subnet, addresses) => {
        asked.push(addresses);
        return holders;
      },
      ownInterfaces: async () => own,
    });
    await expect(checkStageRangeFree("subnet-0aaa", "172.31.16.0/20", lookups(["eni-0someoneelse", "eni-0ours"], ["eni-0ours"]))).rejects.toThrow(
      "subnet subnet-0aaa (172.31.16.0/20): network interfaces eni-0someoneelse hold addresses in 172.31.16.128/25",
    );
    expect(asked[0]).toEqual(rangeAddresses(stageRange("172.31.16.0/20")));
    expect(asked[0]).toHaveLength(128);
    await expect(checkStageRangeFree("subnet-0aaa", "172.31.16.0/20", lookups(["eni-0ours"], ["eni-0ours"]))).resolves.toBe("172.31.16.0/20");
    await expect(checkStageRangeFree("subnet-0aaa", "172.31.7.0/24", lookups([], []))).resolves.toBe("172.31.7.0/24");
    expect(asked.at(-1)).toHaveLength(64);
    await expect(checkStageRangeFree("subnet-0aaa", "172.31.7.0/25", lookups([], []))).rejects.toThrow(/smaller than a \/24/);
  });
});

describe("the fleet keeps its availability zone (item 4)", () => {
  /** Offerings where the given zones offer every type asked about. */
  const offeredIn = (zones: string[], only: Record<string, string[]> = {}) => (inputs: Record<string, unknown>) => {
    const types = ((inputs.filters ?? []) as { name: string; values: string[] }[]).find((x) => x.name === "instance-type")?.values ?? [];
    const pairs = types.flatMap((t) => (only[t] ?? zones).map((zone) => ({ t, zone })));
    return { id: "offerings", instanceTypes: pairs.map((p) => p.t), locations: pairs.map((p) => p.zone), locationTypes: pairs.map(() => "availability-zone") };
  };
  const OFFERINGS = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings";

  it("stays in its zone when AWS starts offering the types in an earlier zone: no subnet or instance is replaced", async () => {
    const world = new AwsWorld();
    const f = devFixture();
    const first = await up(world, f);
    expect(named(first, T.subnet, "network-subnet").inputs.availabilityZone).toBe("us-east-1b");
    world.calls[OFFERINGS] = offeredIn(["us-east-1a", "us-east-1b", "us-east-1c"]);
    const second = await up(world, f);
    expect(world.errors).toEqual([]);
    expect(named(second, T.subnet, "network-subnet").inputs.availabilityZone).toBe("us-east-1b");
    expect(world.steps.get(`${T.subnet}::network-subnet`)).toBe("same");
    for (const i of ofType(second, T.instance)) expect(world.steps.get(`${T.instance}::${i.name}`), i.name).toBe("same");
  });

  it("moves on purpose when llm-fleet:availabilityZone is set: the subnet and its instances go first, then come back in the new zone", async () => {
    const world = new AwsWorld();
    const f = devFixture();
    await up(world, f);
    const moved = await up(world, devFixture({ "llm-fleet:availabilityZone": "us-east-1c" }));
    expect(world.errors).toEqual([]);
    expect(named(moved, T.subnet, "network-subnet").inputs.availabilityZone).toBe("us-east-1c");
    expect(world.deletedFirst.has(`${T.subnet}::network-subnet`)).toBe(true);
  });
});

describe("GPU nodes boot a fresh image only when they are replaced anyway (item 14)", () => {
  const AMI = "aws:ec2/getAmi:getAmi";
  it("keeps running nodes on their image when a new DLAMI is released, and gives a replaced node the newest, delete-first", async () => {
    const world = new AwsWorld();
    const f = mixed();
    await up(world, f);
    world.calls[AMI] = (inputs) => ((inputs.owners as string[])[0] === "amazon" ? { id: "ami-0dlami-newer", imageId: "ami-0dlami-newer", name: "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04) 20261101" } : undefined);
    const released = await up(world, f);
    expect(world.errors).toEqual([]);
    for (const i of ofType(released, T.instance).filter((x) => x.name.startsWith("node-"))) {
      expect(i.inputs.ami, i.name).toBe("ami-0dlami2404");
      expect(world.steps.get(`${T.instance}::${i.name}`), i.name).toBe("same");
    }
    const replaced = await up(world, changed(f, longerQwenContext));
    expect(world.errors).toEqual([]);
    const rewritten = userDataChanged(released, replaced);
    expect(rewritten.length).toBeGreaterThan(0);
    for (const node of rewritten) {
      expect(named(replaced, T.instance, `node-${node}`).inputs.ami, node).toBe("ami-0dlami-newer");
      expect(world.deletedFirst.has(`${T.instance}::node-${node}`), node).toBe(true);
    }
    expect(named(replaced, T.instance, "node-r1-l40s-1").inputs.ami).toBe("ami-0dlami2404");
  });
});

describe("the AWS gateway rolls out with its certificate (item 9)", () => {
  it("replaces the gateway machine, create-first, when the self-signed certificate is renewed; the GPU nodes stay", async () => {
    const world = new AwsWorld();
    const f = devFixture();
    const first = await up(world, f);
    const renewed = await up(world, f, { forceReplace: ["tls:index/selfSignedCert:SelfSignedCert::gateway-tls-cert"] });
    expect(world.errors).toEqual([]);
    expect(world.steps.get(`${T.instance}::gateway-machine`)).toBe("replace");
    expect(world.deletedFirst.has(`${T.instance}::gateway-machine`)).toBe(false);
    expect(renewed.outputs.gatewayAddress).toBe(first.outputs.gatewayAddress);
    for (const n of f.plan.nodes.filter((x) => x.provider === "aws")) expect(world.steps.get(`${T.instance}::node-${n.name}`)).toBe("same");
  });
});
