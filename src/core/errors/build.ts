import { defineErrors } from "./spec.ts";

/** Errors of builds and deploys. */
export const buildErrors = defineErrors({
  BERTH_BUILD_FAILED: {
    message: "build step '{step}' failed: {detail}",
    hint: "Read the build log (`berth events --type deploy:build:log`); the previous release keeps serving.",
    http: 422,
    exit: 1,
  },
  BERTH_BUILD_OUTPUT_MISSING: {
    message: "the build did not produce {path}",
    hint: "Check the service's publishDir (static sites) against what the build command writes.",
    http: 422,
    exit: 1,
  },
});
