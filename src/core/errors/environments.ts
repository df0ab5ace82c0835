import { defineErrors } from "./spec.ts";

/** Errors of environments as a workflow (issue 19): approval gates and promotion. */
export const environmentErrors = defineErrors({
  BERTH_DEPLOY_NOT_PENDING: {
    message: "deploy {id} of {environment} is not pending: {detail}",
    hint: "Nothing to decide on it: {next}.",
    http: 409,
    exit: 5,
  },
  BERTH_APPROVAL_STALE: {
    message: "deploy {id} cannot be approved: {detail}",
    hint: "What would be deployed is no longer what was requested; deploy again (`berth deploy`) and approve the new request.",
    http: 409,
    exit: 5,
  },
  BERTH_PROMOTE_NOT_LIVE: {
    message: "{environment} has no live release of {services}",
    hint: "Promotion deploys what the source environment runs: deploy it there first and wait until it is live (`berth status`), then promote again.",
    http: 409,
    exit: 5,
  },
  BERTH_PROMOTE_INVALID: {
    message: "cannot promote from {from} to {to}: {detail}",
    hint: "{next}",
    http: 400,
    exit: 2,
  },
});
