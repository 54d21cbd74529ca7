/** up / down / sweep against the in-memory backend, with a fixed clock. */
import { beforeEach, describe, expect, it } from "vitest";
import { planFleet } from "../../infra/plan";
import { fleetOutputs } from "../../infra/registry/outputs";
import { FLEET_CONFIG_KEY, loadStackSpec } from "../../infra/spec/load";
import {
  EXPIRES_AT_CONFIG_KEY,
  PREVIEW_CONFIG_KEY,
  PREVIEW_READINESS_TIMEOUT_SECONDS,
  PREVIEW_UP_TIMEOUT_MS,
  READINESS_TIMEOUT_CONFIG_KEY,
  STALE_UPDATE_MS,
  parseTtl,
  previewDown,
  previewSweep,
  previewUp,
  type ConfigJson,
  type PreviewDeps,
} from "../../scripts/preview";
import { FakeBackend, configFromStackFile } from "./fake-backend";

const NOW = new Date("2026-03-01T10:00:00.000Z");
const devConfig = configFromStackFile("Pulumi.dev.yaml");
const devCost = planFleet(loadStackSpec("dev")).totals.costPerHourUSD;

let backend: FakeBackend;
let lines: string[];
let deps: PreviewDeps;

beforeEach(() => {
  backend = new FakeBackend();
  backend.addBaseStack("dev", { ...devConfig, "llm-fleet:clientKeys": { value: '{"app":"k-app"}', secret: true } });
  lines = [];
  deps = { backend, now: () => NOW, log: (line) => lines.push(line), output: () => {} };
});

/** Config of a preview stack that another runner deployed, expiring at `at`. */
function deployedPreview(at: string | undefined): ConfigJson {
  const config: ConfigJson = { ...devConfig };
  if (at !== undefined) config[EXPIRES_AT_CONFIG_KEY] = { value: at, secret: false };
  return config;
}

describe("previewUp", () => {
  it("creates preview-<name> from the base's config with the preview overrides and the expiry, and returns its registry input", async () => {
    const result = await previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("24h") });
    expect(result.stack).toBe("preview-pr-7");
    expect(result.expiresAt).toBe("2026-03-02T10:00:00.000Z");
    expect(backend.calls).toEqual(["create preview-pr-7", "config preview-pr-7", "up preview-pr-7"]);

    const deployed = backend.stacks.get("preview-pr-7")!.deployed!;
    const fleet = deployed[FLEET_CONFIG_KEY]!.objectValue as { name: string; nodes: { spot?: boolean }[] };
    expect(fleet.name).toBe("preview-pr-7");
    expect(fleet.nodes.every((n) => n.spot === true)).toBe(true);
    expect(deployed[EXPIRES_AT_CONFIG_KEY]).toEqual({ value: "2026-03-02T10:00:00.000Z", secret: false });
    expect(deployed["aws:region"]).toEqual(devConfig["aws:region"]);
    expect(deployed["llm-fleet:clientKeys"]).toEqual({ value: '{"app":"k-app"}', secret: true });

    // The registry input is exactly what the program exported; secret outputs are not part of it.
    expect(result.outputs).toEqual(fleetOutputs(planFleet(loadStackSpec("dev")), "https://gw.preview-pr-7.example.net"));
    expect(JSON.stringify(result.outputs)).not.toContain("sk-fleet-app-SECRET");
    expect(backend.stacks.get("dev")!.local).toEqual({ ...devConfig, "llm-fleet:clientKeys": { value: '{"app":"k-app"}', secret: true } });
  });

  it("updates the same stack on the next push and extends the expiry, dropping config the base no longer has", async () => {
    await previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("24h") });
    backend.stacks.get("preview-pr-7")!.local!["llm-fleet:stale"] = { value: "x", secret: false };
    const later = { ...deps, now: () => new Date("2026-03-01T18:00:00.000Z") };
    const again = await previewUp(later, { name: "pr-7", base: "dev", ttlMs: parseTtl("2h") });
    expect(again.expiresAt).toBe("2026-03-01T20:00:00.000Z");
    expect(backend.calls.filter((c) => c.startsWith("create"))).toHaveLength(1);
    expect(backend.stacks.get("preview-pr-7")!.deployed!["llm-fleet:stale"]).toBeUndefined();
  });

  it("refuses before anything is created when the plan costs more than the cap, with both numbers", async () => {
    await expect(previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("1h"), maxCostPerHourUSD: 1.5 })).rejects.toThrow(
      `preview-pr-7: the plan costs $${devCost.toFixed(2)}/hour (at on-demand prices), above --max-cost-per-hour $1.50; nothing was created`,
    );
    // Amounts that round alike get the digits that tell them apart.
    await expect(previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("1h"), maxCostPerHourUSD: devCost - 0.0004 })).rejects.toThrow(
      `the plan costs $${devCost.toFixed(3)}/hour (at on-demand prices), above --max-cost-per-hour $${(devCost - 0.0004).toFixed(3)}`,
    );
    expect(backend.calls).toEqual([]);
    expect(backend.stacks.has("preview-pr-7")).toBe(false);
  });

  it("goes ahead at or under the cap, and the base's preview block can bring a fleet under it", async () => {
    await expect(previewUp(deps, { name: "a", base: "dev", ttlMs: parseTtl("1h"), maxCostPerHourUSD: devCost })).resolves.toMatchObject({ costPerHourUSD: devCost });

    const spec = loadStackSpec("dev");
    spec.nodes.push({ name: "gpu-l4b", provider: "aws", instanceType: "g6.xlarge", spot: false, labels: {} });
    const small = spec.models[1]!;
    if (small.engine !== "external") small.replicas.push({ nodes: ["gpu-l4b"], weight: 1 });
    const twoReplicas = { ...devConfig, [FLEET_CONFIG_KEY]: { value: JSON.stringify(spec), objectValue: spec, secret: false } };
    backend.addBaseStack("big", twoReplicas);
    await expect(previewUp(deps, { name: "b", base: "big", ttlMs: parseTtl("1h"), maxCostPerHourUSD: devCost })).rejects.toThrow(/above --max-cost-per-hour/);
    backend.addBaseStack("big", { ...twoReplicas, [PREVIEW_CONFIG_KEY]: { objectValue: { maxReplicasPerModel: 1 }, secret: false } });
    await expect(previewUp(deps, { name: "b", base: "big", ttlMs: parseTtl("1h"), maxCostPerHourUSD: devCost })).resolves.toMatchObject({ costPerHourUSD: devCost });
    expect(lines).toContain("  node gpu-l4b: dropped, no replica left on it");
  });

  it("bounds the preview's update and its readiness wait so both end inside the CI job", async () => {
    await previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("24h") });
    expect(backend.upTimeouts).toEqual([PREVIEW_UP_TIMEOUT_MS]);
    expect(backend.stacks.get("preview-pr-7")!.deployed![READINESS_TIMEOUT_CONFIG_KEY]).toEqual({ value: String(PREVIEW_READINESS_TIMEOUT_SECONDS), secret: false });
    expect(PREVIEW_READINESS_TIMEOUT_SECONDS * 1000).toBeLessThan(PREVIEW_UP_TIMEOUT_MS);
    // A base that waits less keeps its shorter wait.
    backend.addBaseStack("quick", { ...devConfig, [READINESS_TIMEOUT_CONFIG_KEY]: { value: "600", secret: false } });
    await previewUp(deps, { name: "q", base: "quick", ttlMs: parseTtl("1h") });
    expect(backend.stacks.get("preview-q")!.deployed![READINESS_TIMEOUT_CONFIG_KEY]!.value).toBe("600");
  });

  it("says what to do when Pulumi had to be interrupted at the deadline", async () => {
    backend.hangUp.add("preview-pr-7");
    await expect(previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("24h") })).rejects.toThrow(
      /preview-pr-7: pulumi up did not finish within 40 minutes and was interrupted; Pulumi stopped cleanly and the stack is unlocked.*\n  fix: push again to retry, or tear it down: fleet preview down --name pr-7/,
    );
  });

  it("refuses a base that is itself a preview, or that has no fleet", async () => {
    await expect(previewUp(deps, { name: "x", base: "preview-pr-7", ttlMs: 60_000 })).rejects.toThrow(/--base: preview-pr-7 is itself a preview/);
    backend.addBaseStack("empty", { "aws:region": { value: "us-east-1", secret: false } });
    await expect(previewUp(deps, { name: "x", base: "empty", ttlMs: 60_000 })).rejects.toThrow(/config.llm-fleet:fleet: is missing/);
    expect(backend.calls).toEqual([]);
  });
});

describe("previewDown", () => {
  it("destroys and removes the preview, and a second run succeeds with nothing to do", async () => {
    await previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("24h") });
    backend.calls.length = 0;
    await expect(previewDown(deps, "pr-7")).resolves.toEqual({ stack: "preview-pr-7", status: "removed", destroyed: true });
    expect(backend.calls).toEqual(["destroy preview-pr-7", "remove preview-pr-7"]);
    await expect(previewDown(deps, "pr-7")).resolves.toEqual({ stack: "preview-pr-7", status: "absent" });
    expect(backend.calls).toHaveLength(2);
    expect(lines.at(-1)).toBe("preview-pr-7: no such stack, nothing to tear down");
  });

  it("works on a fresh runner that has no Pulumi.<stack>.yaml for the preview", async () => {
    await previewUp(deps, { name: "pr-7", base: "dev", ttlMs: parseTtl("24h") });
    backend.freshCheckout();
    await expect(previewDown(deps, "pr-7")).resolves.toMatchObject({ status: "removed", destroyed: true });
    expect(backend.stacks.has("preview-pr-7")).toBe(false);
  });

  it("removes a stack that never got resources without destroying, and finishes a half-done teardown", async () => {
    await backend.selectOrCreate("preview-empty");
    await expect(previewDown(deps, "empty")).resolves.toEqual({ stack: "preview-empty", status: "removed", destroyed: false });
    backend.addDeployedStack("preview-half", deployedPreview(undefined), { resources: 0 });
    await expect(previewDown(deps, "half")).resolves.toMatchObject({ status: "removed", destroyed: false });
    expect(backend.calls.filter((c) => c.startsWith("destroy"))).toEqual([]);
  });

  it("finds the stack when the backend qualifies its name, and never touches another preview", async () => {
    backend.addDeployedStack("acme/preview-pr-7", deployedPreview(undefined));
    backend.addDeployedStack("acme/preview-pr-70", deployedPreview(undefined));
    await previewDown(deps, "pr-7");
    expect([...backend.stacks.keys()]).toEqual(["dev", "acme/preview-pr-70"]);
  });

  it("refuses while an update is running instead of failing half-way", async () => {
    backend.addDeployedStack("preview-busy", deployedPreview(undefined), { updateInProgress: true, updateStartedAt: new Date(NOW.getTime() - 5 * 60_000) });
    await expect(previewDown(deps, "busy")).rejects.toThrow(/preview-busy: an update is in progress \(started 5 minutes ago; a preview's update runs at most 70 minutes\)/);
    backend.addDeployedStack("preview-unknown", deployedPreview(undefined), { updateInProgress: true });
    await expect(previewDown(deps, "unknown")).rejects.toThrow(/does not say when it started; if its run is gone: pulumi cancel --stack preview-unknown/);
    expect(backend.calls).toEqual([]);
    expect(backend.stacks.has("preview-busy")).toBe(true);
  });

  it("recovers a stack locked by a dead run: cancel, then destroy and remove", async () => {
    backend.addDeployedStack("preview-dead", deployedPreview(undefined), { updateInProgress: true, updateStartedAt: new Date(NOW.getTime() - (STALE_UPDATE_MS + 60_000)) });
    await expect(previewDown(deps, "dead")).resolves.toEqual({ stack: "preview-dead", status: "removed", destroyed: true });
    expect(backend.calls).toEqual(["cancel preview-dead", "destroy preview-dead", "remove preview-dead"]);
    expect(lines).toContain("preview-dead: the update started 71 minutes ago: its run is gone; cancelling it (pulumi cancel) before the teardown");
  });
});

describe("previewSweep", () => {
  it("destroys only previews whose expiry has passed, and reports what it did with each", async () => {
    backend.addDeployedStack("preview-old", deployedPreview("2026-03-01T09:00:00.000Z"));
    backend.addDeployedStack("preview-now", deployedPreview(NOW.toISOString()));
    backend.addDeployedStack("acme/preview-qualified", deployedPreview("2026-02-01T00:00:00.000Z"));
    backend.addDeployedStack("preview-fresh", deployedPreview("2026-03-01T10:00:01.000Z"));
    // Not previews: left alone even with an expiry in the past.
    backend.addDeployedStack("staging", deployedPreview("2020-01-01T00:00:00.000Z"));
    backend.addDeployedStack("acme/prod", deployedPreview("2020-01-01T00:00:00.000Z"));
    backend.freshCheckout();

    const outcomes = await previewSweep(deps);
    expect(outcomes).toEqual([
      { stack: "preview-old", action: "destroyed", expiresAt: "2026-03-01T09:00:00.000Z" },
      { stack: "preview-now", action: "destroyed", expiresAt: NOW.toISOString() },
      { stack: "acme/preview-qualified", action: "destroyed", expiresAt: "2026-02-01T00:00:00.000Z" },
      { stack: "preview-fresh", action: "kept", expiresAt: "2026-03-01T10:00:01.000Z" },
    ]);
    expect([...backend.stacks.keys()].sort()).toEqual(["acme/prod", "dev", "preview-fresh", "staging"]);
    expect(lines).toContain("preview-old: expired 2026-03-01T09:00:00.000Z: destroyed and removed");
    expect(lines).toContain("preview-fresh: kept, expires 2026-03-01T10:00:01.000Z");
  });

  it("skips what it cannot judge, and one failure does not stop the others", async () => {
    backend.addDeployedStack("preview-busy", deployedPreview("2020-01-01T00:00:00.000Z"), { updateInProgress: true });
    backend.stacks.set("preview-never", { resources: 0 });
    backend.addDeployedStack("preview-noexpiry", deployedPreview(undefined));
    backend.addDeployedStack("preview-garbage", deployedPreview("tomorrow"));
    backend.addDeployedStack("preview-broken", deployedPreview("2020-01-01T00:00:00.000Z"));
    backend.failDestroy.add("preview-broken");
    backend.addDeployedStack("preview-old", deployedPreview("2020-01-01T00:00:00.000Z"));

    const outcomes = await previewSweep(deps);
    expect(outcomes.map((o) => [o.stack, o.action])).toEqual([
      ["preview-busy", "skipped"],
      ["preview-never", "skipped"],
      ["preview-noexpiry", "skipped"],
      ["preview-garbage", "skipped"],
      ["preview-broken", "failed"],
      ["preview-old", "destroyed"],
    ]);
    expect(outcomes[2]).toMatchObject({ reason: expect.stringContaining("no valid llm-fleet:expiresAt (unset)") });
    expect(outcomes[4]).toMatchObject({ reason: "error: deleting instance of preview-broken: UnauthorizedOperation" });
    expect([...backend.stacks.keys()]).not.toContain("preview-old");
    expect(backend.stacks.get("preview-busy")?.resources).toBe(7);
  });

  it("cancels a dead run's lock and sweeps the stack if it expired; leaves a live update alone", async () => {
    const stale = new Date(NOW.getTime() - STALE_UPDATE_MS - 1);
    backend.addDeployedStack("preview-dead-old", deployedPreview("2026-03-01T09:00:00.000Z"), { updateInProgress: true, updateStartedAt: stale });
    backend.addDeployedStack("preview-dead-fresh", deployedPreview("2026-03-02T09:00:00.000Z"), { updateInProgress: true, updateStartedAt: stale });
    backend.addDeployedStack("preview-live", deployedPreview("2020-01-01T00:00:00.000Z"), { updateInProgress: true, updateStartedAt: NOW });
    const outcomes = await previewSweep(deps);
    expect(outcomes.map((o) => [o.stack, o.action])).toEqual([
      ["preview-dead-old", "destroyed"],
      ["preview-dead-fresh", "kept"],
      ["preview-live", "skipped"],
    ]);
    expect(backend.calls).toEqual(["cancel preview-dead-old", "destroy preview-dead-old", "remove preview-dead-old", "cancel preview-dead-fresh"]);
    expect(backend.stacks.get("preview-dead-fresh")!.updateInProgress).toBe(false);
    expect(backend.stacks.get("preview-live")!.updateInProgress).toBe(true);
  });

  it("says so when there are no previews", async () => {
    await expect(previewSweep(deps)).resolves.toEqual([]);
    expect(lines).toEqual(["no preview stacks"]);
  });

  it("sweeps what up made, once the clock passes its TTL", async () => {
    await previewUp(deps, { name: "pr-9", base: "dev", ttlMs: parseTtl("30m") });
    backend.freshCheckout();
    await expect(previewSweep({ ...deps, now: () => new Date("2026-03-01T10:29:59.999Z") })).resolves.toMatchObject([{ action: "kept" }]);
    await expect(previewSweep({ ...deps, now: () => new Date("2026-03-01T10:30:00.000Z") })).resolves.toMatchObject([{ action: "destroyed" }]);
    expect(backend.stacks.has("preview-pr-9")).toBe(false);
  });
});
