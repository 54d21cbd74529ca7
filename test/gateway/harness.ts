/**
 * Test-file wiring of the live gateway (vitest hooks); the process helpers live in
 * gateway-process.ts so that the benchmark can use them without vitest.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { FakeEngineOptions } from "../support/fake-engine";
import { closeEngines, resetEngines, resolveTo, startEngines, testPlan, type EngineSet } from "./fleets";
import type { FleetPlan } from "../../infra/plan/types";
import { startGateway, type GatewayProcess, type StartGatewayOptions } from "./gateway-process";

export * from "./gateway-process";

/**
 * A test file's gateway in front of the test fleet: engines and nginx started before its tests,
 * stopped after them, engine faults and records reset before each test.
 */
export function liveGateway(options: { engines?: Partial<FakeEngineOptions>; gateway?: Omit<StartGatewayOptions, "resolveEndpoint">; plan?: () => FleetPlan } = {}) {
  let engines: EngineSet | undefined;
  let gw: GatewayProcess | undefined;
  beforeAll(async () => {
    const plan = options.plan ? options.plan() : testPlan();
    engines = await startEngines(plan, options.engines);
    gw = await startGateway(plan, { ...options.gateway, resolveEndpoint: resolveTo(engines) });
  });
  afterAll(async () => {
    await gw?.stop();
    await closeEngines(engines);
  });
  beforeEach(() => resetEngines(engines!));
  return {
    get engines(): EngineSet {
      return engines!;
    },
    get gw(): GatewayProcess {
      return gw!;
    },
    api: (path: string) => `${gw!.url}${path}`,
  };
}
