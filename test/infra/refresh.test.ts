/**
 * A spot node that AWS reclaimed, through the next `pulumi up`, which refreshes first (Pulumi.yaml
 * options.refresh: always; fleet preview passes --refresh): the AWS provider reads a terminated
 * instance as gone, so the refresh drops it from the state, and the update creates it again.
 * Modelled on Pulumi's engine: a declared resource missing from the refreshed state is created
 * (with a new id); one whose inputs differ is updated or replaced; the rest stay as they are.
 * Without the refresh the state would still hold the instance: every step would be "same", and
 * the fleet would stay one node short while `up` reported success.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ProgramRun, RecordedResource } from "./harness";
import { T, ofType, runFixture } from "./inspect";
import { devFixture } from "./stacks";

type Step = "create" | "update" | "same";
const key = (r: RecordedResource) => `${r.type}::${r.name}`;

function steps(state: Map<string, RecordedResource>, next: ProgramRun): Map<string, Step> {
  return new Map(
    next.resources.map((r) => {
      const old = state.get(key(r));
      return [key(r), old === undefined ? "create" : JSON.stringify(old.inputs) === JSON.stringify(r.inputs) ? "same" : "update"];
    }),
  );
}

describe("a reclaimed spot node, refreshed away", () => {
  const f = devFixture();
  let deployed: ProgramRun;
  let lost: RecordedResource;
  let next: Map<string, Step>;
  beforeAll(async () => {
    deployed = await runFixture(f);
    lost = ofType(deployed, T.instance).find((i) => i.name !== "gateway-machine" && !i.name.startsWith("gateway"))!;
    const refreshed = new Map(deployed.resources.filter((r) => r !== lost).map((r) => [key(r), r]));
    const again = await runFixture({ ...f, program: { ...f.program, recreated: [lost.name] } });
    next = steps(refreshed, again);
  });

  it("is created again by the next up", () => {
    expect(lost).toBeDefined();
    expect(next.get(key(lost))).toBe("create");
  });

  it("touches no other instance", () => {
    const others = ofType(deployed, T.instance).filter((i) => i !== lost);
    expect(others.length).toBeGreaterThan(0);
    for (const i of others) expect(next.get(key(i)), i.name).toBe("same");
  });

  it("makes readiness wait for the fleet again (its triggers name the new instance)", () => {
    const [wait] = ofType(deployed, T.local);
    // The command has no `update`: a change of triggers runs `create` again (@pulumi/command).
    expect(next.get(key(wait!))).toBe("update");
  });

  it("would change nothing if the state still held the instance (why up must refresh)", async () => {
    const stale = new Map(deployed.resources.map((r) => [key(r), r]));
    const again = await runFixture(f);
    expect([...steps(stale, again).values()].every((s) => s === "same")).toBe(true);
  });
});
