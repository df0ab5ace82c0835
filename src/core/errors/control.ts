import { defineErrors } from "./spec.ts";

/** Errors of a control plane that never breaks a running stack (issue 15): routers, limits. */
export const controlErrors = defineErrors({
  BERTH_ROUTER_PORT_TAKEN: {
    message: "the router cannot listen on {address}: the port is taken by {holder}",
    hint: "Stop that process (a router left by another Berth data dir names its config in its command line), or give this daemon another port with BERTH_HTTP_PORT / BERTH_HTTPS_PORT.",
    http: 500,
    exit: 6,
  },
  BERTH_SERVICES_LIMIT: {
    message: "{project}/{environment} would have {count} services; this daemon allows at most {limit} per project",
    hint: "Split the blueprint into several projects, or raise the ceiling with BERTH_MAX_SERVICES_PER_PROJECT.",
    http: 422,
    exit: 2,
  },
});
