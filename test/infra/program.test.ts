/**
 * The real program for Pulumi.dev.yaml and every example, under Pulumi's mocks: outputs agree
 * with the plan, and no secret shows up anywhere a person or a log could read it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseFleetOutputs } from "../../infra/registry";
import { fleetOutputs } from "../../infra/registry/outputs";
import { runProgram, type ProgramRun } from "./harness";
import { REDACTED } from "./harness";
import { T, hiddenValues, ofType, runFixture, userDataOf } from "./inspect";
import { allFixtures } from "./stacks";

describe.each(allFixtures().map((f) => [f.label, f] as const))("%s", (_label, f) => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runFixture(f);
  });

  it("exports the plan's cost, the registry's model entries and every node", () => {
    expect(run.outputs.costPerHourUSD).toBe(f.plan.totals.costPerHourUSD);
    const url = run.outputs.gatewayUrl as string;
    expect(url).toMatch(/^https:\/\/[^/]+$/);
    expect(run.outputs.models).toEqual(fleetOutputs(f.plan, url).models);
    const nodes = run.outputs.nodes as Record<string, { provider: string; address: string; gpus: string[]; instanceId?: string }>;
    expect(Object.keys(nodes).sort()).toEqual(f.plan.nodes.map((n) => n.name).sort());
    for (const n of f.plan.nodes) {
      expect(nodes[n.name]).toMatchObject({ provider: n.provider, address: n.address, gpus: n.gpus });
      if (n.provider === "aws") expect(nodes[n.name]!.instanceId).toBe(`node-${n.name}-id`);
    }
  });

  it("exports what the registry generator reads back from a stack, unchanged", () => {
    const asJson = JSON.parse(JSON.stringify(run.outputs)) as unknown;
    expect(parseFleetOutputs(asJson, f.label)).toEqual({ gatewayUrl: run.outputs.gatewayUrl, models: run.outputs.models });
  });

  it("exports the client keys as a secret, and nothing else holds a secret", () => {
    expect([...run.secretOutputs]).toEqual(["clientKeys"]);
    expect(run.outputs.clientKeys).toEqual(f.clientKeys);
    const plain = JSON.stringify(Object.fromEntries(Object.entries(run.outputs).filter(([k]) => k !== "clientKeys")));
    for (const value of hiddenValues(f)) expect(plain).not.toContain(value);
  });

  it("passes secret values to resources only as secret-marked inputs", () => {
    const hidden = hiddenValues(f);
    for (const r of run.resources) {
      const plain = JSON.stringify(r.plainInputs);
      for (const value of hidden) expect(plain, `${r.type} ${r.name}`).not.toContain(value.trim());
    }
    // The values do reach the resources that need them (so the check above can fail).
    const everything = JSON.stringify(run.resources.map((r) => r.inputs));
    for (const value of f.secretValues) expect(everything).toContain(JSON.stringify(value).slice(1, -1));
    expect(JSON.stringify(run.resources.map((r) => r.plainInputs))).toContain(REDACTED);
  });

  it("puts no secret into any instance's user data, even where the user data is secret-marked", () => {
    for (const instance of ofType(run, T.instance)) {
      const text = userDataOf(instance);
      expect(text.startsWith("#cloud-config")).toBe(true);
      for (const value of hiddenValues(f)) expect(text, instance.name).not.toContain(value.trim());
    }
  });

  it("stores every secret an AWS machine reads in Secrets Manager as <fleet>/<stack>/<name>, value secret-marked", () => {
    const versions = ofType(run, T.secretVersion);
    for (const secret of ofType(run, T.secret)) {
      expect(String(secret.inputs.name)).toMatch(new RegExp(`^${f.plan.name}/${f.program.stack}/`));
      expect(secret.inputs.recoveryWindowInDays).toBe(0);
    }
    for (const v of versions) expect(v.plainInputs.secretString).toBe(REDACTED);
    const ids = ofType(run, T.secret).map((s) => String(s.inputs.name));
    for (const instance of ofType(run, T.instance)) {
      for (const [, id] of userDataOf(instance).matchAll(/^\s*fetch \S+ (\S+)$/gm)) expect(ids).toContain(id!.replace(/^'|'$/g, ""));
    }
  });

  it("waits for every served model through the gateway, after every machine", () => {
    const [wait] = ofType(run, T.local);
    expect(wait).toBeDefined();
    expect(wait!.plainInputs.environment).toBe(REDACTED);
    const env = wait!.inputs.environment as Record<string, string>;
    expect(env.LLM_FLEET_GATEWAY_URL).toBe(run.outputs.gatewayUrl);
    // By address: DNS for gateway.domain may not point at the gateway yet.
    expect(env.LLM_FLEET_CONNECT_ADDRESS).toBe(run.outputs.gatewayAddress);
    const probed = (JSON.parse(env.LLM_FLEET_PROBES!) as { models: string[] }[]).flatMap((p) => p.models).sort();
    expect(probed).toEqual(f.plan.models.filter((m) => m.engine !== "external").map((m) => m.id).sort());
    // Depending on a component means depending on all its resources: the URNs are the leaves.
    const waitsFor = wait!.dependencies.map((u) => u.split("::").at(-1)!);
    expect(waitsFor.some((n) => n === "gateway-machine" || n === "gateway-nginx")).toBe(true);
    for (const n of f.plan.nodes) {
      if (n.placements.length === 0) continue;
      const last = { aws: `node-${n.name}`, ssh: `node-${n.name}-service`, docker: `node-${n.name}-llm-fleet-` }[n.provider];
      expect(waitsFor.some((name) => name.startsWith(last)), n.name).toBe(true);
    }
  });
});

describe("the secret check itself", () => {
  it("sees a secret value passed as a plain input, and not one passed as a secret", async () => {
    const pulumi = await import("@pulumi/pulumi");
    const aws = await import("@pulumi/aws");
    const value = "sv-leak-0123456789abcdef";
    const run = await runProgram({ stack: "check", config: {}, secretKeys: [] }, async () => {
      new aws.ec2.SecurityGroup("leaky", { description: "x", tags: { token: value } });
      new aws.ec2.SecurityGroup("careful", { description: "x", tags: { token: pulumi.secret(value) } });
      return {};
    });
    const plain = (name: string) => JSON.stringify(run.resources.find((r) => r.name === name)!.plainInputs);
    expect(plain("leaky")).toContain(value);
    expect(plain("careful")).not.toContain(value);
  });
});

describe("as a preview of a new stack (nothing exists: ids, addresses and ARNs unknown)", () => {
  it.each(allFixtures().map((f) => [f.label, f] as const))("%s declares the same resources as the update", async (_label, f) => {
    const update = await runFixture(f);
    const preview = await runFixture({ ...f, program: { ...f.program, preview: true } });
    const names = (run: ProgramRun) => run.resources.map((r) => `${r.type}::${r.name}`).sort();
    expect(names(preview)).toEqual(names(update));
    expect(preview.outputs.costPerHourUSD).toBe(f.plan.totals.costPerHourUSD);
  });
});
