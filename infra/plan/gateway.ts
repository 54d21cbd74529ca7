/**
 * A fleet can be planned before its gateway is decided (keys and limits come later); rendering the
 * gateway and deploying need it. Those callers narrow the plan here, and a missing gateway is a
 * spec problem that says what to add.
 */
import { FleetSpecError } from "../spec/errors";
import type { GatewaySpec } from "../spec/schema";
import type { FleetPlan } from "./types";

export type GatewayFleetPlan = FleetPlan & { gateway: GatewaySpec };

export function hasGateway(plan: FleetPlan): plan is GatewayFleetPlan {
  return plan.gateway !== null;
}

/** The plan with its gateway, or a FleetSpecError saying that `needs` (e.g. "pulumi up") needs one. */
export function requireGateway(plan: FleetPlan, needs: string): GatewayFleetPlan {
  if (hasGateway(plan)) return plan;
  throw new FleetSpecError(
    [
      {
        path: "gateway",
        message: `is missing: ${needs} needs the gateway's client keys, rate classes and per-IP limit`,
        fix: 'add gateway: { keys: { app: { models: ["*"], rateClass: standard } }, rateClasses: { standard: { requestsPerMinute: 120, burst: 20, concurrency: 8 } }, perIp: { requestsPerMinute: 300, burst: 50 } }',
      },
    ],
    `fleet "${plan.name}"`,
  );
}
