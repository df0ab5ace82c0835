import { defineErrors } from "./spec.ts";

/** Errors of the control-plane spine: API, auth, store, config, reconcile. */
export const spineErrors = defineErrors({
  BERTH_INTERNAL: {
    message: "internal error: {detail}",
    hint: "This is a bug in Berth. Run `berth events` for context and report it with the request id.",
    http: 500,
    exit: 1,
  },
  BERTH_BAD_REQUEST: {
    message: "invalid request: {detail}",
    hint: "Check the field named in the error against the API document at /openapi.json.",
    http: 400,
    exit: 2,
  },
  BERTH_NOT_FOUND: {
    message: "{kind} '{name}' not found",
    hint: "List what exists with `berth status`.",
    http: 404,
    exit: 4,
  },
  BERTH_CONFLICT: {
    message: "{kind} '{name}' already exists",
    hint: "Pick another name, or change the existing one.",
    http: 409,
    exit: 5,
  },
  BERTH_UNAUTHENTICATED: {
    message: "missing or invalid API token",
    hint: "Run `berth login --url URL --token TOKEN`, or set BERTH_URL and BERTH_TOKEN.",
    http: 401,
    exit: 3,
  },
  BERTH_FORBIDDEN: {
    message: "token '{token}' with role {role} may not {action}",
    hint: "Use a token with the {required} role (`berth token create --role {required}`).",
    http: 403,
    exit: 3,
  },
  BERTH_CSRF_REJECTED: {
    message: "a dashboard session may not {action} without the X-Berth-CSRF header from the daemon's own origin",
    hint: "Send the request from the dashboard, or use an API token (`Authorization: Bearer ...`).",
    http: 403,
    exit: 3,
  },
  BERTH_CONFIG_INVALID: {
    message: "invalid setting {field}: {detail}",
    hint: "Fix the flag or environment variable named above; `berth server --help` lists them.",
    http: 500,
    exit: 2,
  },
  BERTH_STORE_FAILED: {
    message: "state store at {path} failed: {detail}",
    hint: "Check the data directory's permissions and free space; the store is left as it was.",
    http: 500,
    exit: 1,
  },
  BERTH_DAEMON_UNREACHABLE: {
    message: "cannot reach the Berth daemon at {url}: {detail}",
    hint: "Start it with `berth server`, or point BERTH_URL at a running one.",
    http: 503,
    exit: 6,
  },
  BERTH_USAGE: {
    message: "{detail}",
    hint: "Run `berth --help` to list commands and flags.",
    http: 400,
    exit: 2,
  },
  BERTH_RECONCILE_FAILED: {
    message: "reconcile of {environment} failed at {step}: {detail}",
    hint: "The step is retried with backoff; `berth events` shows each attempt.",
    http: 500,
    exit: 1,
  },
});
