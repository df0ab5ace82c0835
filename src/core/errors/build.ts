import { defineErrors } from "./spec.ts";

/** Errors of builds and deploys. */
export const buildErrors = defineErrors({
  BERTH_BUILD_FAILED: {
    message: "build step '{step}' failed: {detail}",
    hint: "Read the build log (`berth events --type deploy:build:log`); the previous release keeps serving.",
    http: 422,
    exit: 1,
  },
  BERTH_BUILD_TLS_UNTRUSTED: {
    message: "build step '{step}' failed: a registry's TLS certificate is not trusted ({marker})",
    hint: "Builds trust the CA files named in the daemon's environment: {variables}. Set them to the CA bundle of your network's proxy (e.g. NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt) where the daemon starts, or add names with BERTH_BUILD_ENV; see docs/design/build-env.md.",
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
