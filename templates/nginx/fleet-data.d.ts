/**
 * Type of the global `fleet`: gateway/fleet.json (infra/render/gateway/router-config.ts), loaded once
 * by nginx.conf's `js_preload_object fleet from fleet.json` and shared by every request's VM.
 * A preloaded object is frozen and has no prototype (nginx.org/en/docs/njs/preload_objects.html):
 * its lists have no methods, so they are typed without them here, and the type check refuses
 * `fleet.order.forEach(...)`; use `Array.prototype.forEach.call(fleet.order, ...)` or a loop.
 */
import type { RouterConfig } from "../../infra/render/gateway/router-types";

type Preloaded<T> = T extends readonly (infer U)[]
  ? { readonly length: number; readonly [index: number]: Preloaded<U> }
  : T extends object
    ? { readonly [K in keyof T]: Preloaded<T[K]> }
    : T;

declare global {
  type FleetData = Preloaded<RouterConfig>;
  const fleet: FleetData;
}
