import { defineErrors } from "./spec.ts";

/**
 * Errors of tenant isolation (issue 17): typed blueprint text, reserved ports, paths that leave a
 * source tree, project quotas, sandboxed builds. See docs/design/security.md.
 */
export const securityErrors = defineErrors({
  BERTH_BLUEPRINT_BAD_TEXT: {
    message: "{field}: {received} is not {what}: it {detail}",
    hint: "{suggestion}",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_PORT_RESERVED: {
    message: "{field}: port {port} is reserved ({why})",
    hint: "Leave `port` out (Berth assigns one and passes it as $PORT), or use a port from 1024 up that is not {reserved}. An owner can allow it for this project: `PUT /v1/projects/{project}/policy` with allowedPorts.",
    http: 422,
    exit: 2,
  },
  BERTH_ROUTER_UNSAFE_VALUE: {
    message: "refusing to write {what} {value} into HAProxy's files",
    hint: "This value should have been refused by the blueprint's schema; it is a bug in Berth's validation. Report it with the blueprint that produced it.",
    http: 500,
    exit: 1,
  },
  BERTH_ROUTER_PATH_INVALID: {
    message: "service {service}: path prefix {path} is not routable: it {detail}",
    hint: "Write an HTTP path such as /api; the route is left out, the service's other routes are kept.",
    http: 422,
    exit: 2,
  },
  BERTH_ROUTER_DOMAIN_RESERVED: {
    message: "service {service}: domain '{domain}' is inside the base domain {base}, which is reserved for generated hosts",
    hint: "Each service gets <service>-<environment>-<project>.{base} automatically; custom domains must lie outside {base}.",
    http: 422,
    exit: 2,
  },
  BERTH_BLUEPRINT_DOMAIN_RESERVED: {
    message: "{field}: '{domain}' is inside {base}, where Berth names services itself",
    hint: "Each service gets <service>-<environment>-<project>.{base} automatically; a custom domain must lie outside {base}.",
    http: 422,
    exit: 2,
  },
  BERTH_SOURCE_PATH_ESCAPES: {
    message: "{field} '{path}' leaves the source tree: {detail}",
    hint: "Paths in a blueprint are relative to the repository and must stay inside it; replace symlinks that point outside the tree with the files themselves.",
    http: 422,
    exit: 2,
  },
  BERTH_SOURCE_DIR_FORBIDDEN: {
    message: "token '{token}' may not set the source directory of project '{project}' to {path}",
    hint: "Only an owner token without a project scope chooses where a project's files come from on this host (the first sync, or a change of directory). Sync from the recorded directory ({recorded}), or ask an owner.",
    http: 403,
    exit: 3,
  },
  BERTH_QUOTA_EXCEEDED: {
    message: "project '{project}' would use {requested} {what}, over its quota of {quota} ({detail})",
    hint: "Lower replicas, limits or disk sizes, remove an environment, or ask an owner to raise the quota (`PUT /v1/projects/{project}/policy`).",
    http: 422,
    exit: 2,
  },
  BERTH_BUILD_SANDBOX_FAILED: {
    message: "sandboxing the build of {service} failed at {step}: {detail}",
    hint: "Builds run as root need useradd, bubblewrap (bwrap) and a writable cgroup hierarchy; see docs/design/security.md.",
    http: 500,
    exit: 1,
  },
  BERTH_BUILD_LIMIT: {
    message: "build step '{step}' of {service} was stopped: it reached its {limit} limit ({value})",
    hint: "A build may use at most {value}; raise it for this service with `build.limits` in the blueprint if the build really needs more.",
    http: 422,
    exit: 1,
  },
  BERTH_NETWORK_POLICY_FAILED: {
    message: "applying the loopback network policy failed: {detail}",
    hint: "The local engine isolates projects on loopback with nftables (`nft`, Debian package nftables) when it runs as root; see docs/design/security.md.",
    http: 500,
    exit: 1,
  },
});
