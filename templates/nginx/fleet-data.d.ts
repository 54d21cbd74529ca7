/** Type of the rendered gateway/fleet.js (templates/nginx/fleet.js.hbs), for the njs type check. */
import type { RouterConfig } from "../../infra/render/gateway/router-types";

declare const fleet: RouterConfig;
export default fleet;
