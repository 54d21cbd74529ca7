/** The registry a plan implies before anything is deployed (`fleet registry --from-plan`). */
import { FleetSpecError } from "../spec/errors";
import type { FleetPlan } from "../plan/types";
import { fleetOutputs, plannedGatewayUrl, type FleetOutputs } from "./outputs";

/**
 * @param gatewayUrl overrides the URL the spec's gateway.domain implies (e.g. a deployed gateway's address)
 * @param origin names the spec in errors
 */
export function outputsFromPlan(plan: FleetPlan, gatewayUrl: string | undefined, origin: string): FleetOutputs {
  const url = gatewayUrl ?? plannedGatewayUrl(plan);
  if (url === null) {
    throw new FleetSpecError(
      [{
        path: "gateway.domain",
        message: "is not set, so the plan has no gateway URL for the registry",
        fix: "set gateway.domain, pass --gateway-url URL, or read a deployed stack with --stack NAME (without --from-plan)",
      }],
      origin,
    );
  }
  return fleetOutputs(plan, url);
}
