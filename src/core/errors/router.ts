import { defineErrors } from "./spec.ts";

/** Errors of the router: route table, HAProxy process and runtime API, TLS. */
export const routerErrors = defineErrors({
  BERTH_ROUTER_DOMAIN_INVALID: {
    message: "service {service}: '{domain}' is not a valid domain name",
    hint: "Write a lowercase hostname such as app.example.com (no scheme, port or path).",
    http: 400,
    exit: 2,
  },
  BERTH_ROUTER_ROUTE_CONFLICT: {
    message: "route {host}{prefix} is claimed by both {first} and {second}",
    hint: "Give one of the services another domain or path prefix.",
    http: 409,
    exit: 5,
  },
  BERTH_ROUTER_CONFIG_INVALID: {
    message: "the rendered HAProxy configuration failed validation: {detail}",
    hint: "The last good configuration keeps serving. This is a bug in Berth's renderer; report it with `berth events`.",
    http: 500,
    exit: 1,
  },
  BERTH_ROUTER_HAPROXY_FAILED: {
    message: "HAProxy {action} failed: {detail}",
    hint: "Check that the haproxy package (2.6+) is installed and the router ports are free.",
    http: 503,
    exit: 6,
  },
  BERTH_ROUTER_RUNTIME_API: {
    message: "HAProxy runtime API command '{command}' failed: {detail}",
    hint: "The router may be restarting; retry. If it persists, check `berth events` for router errors.",
    http: 503,
    exit: 6,
  },
  BERTH_ROUTER_UNKNOWN_SERVICE: {
    message: "service {service} has no public route",
    hint: "Only web and static services with a route take traffic through the router.",
    http: 404,
    exit: 4,
  },
  BERTH_ROUTER_NOT_HEALTHY: {
    message: "instance {instance} of {service} did not pass HAProxy's health check within {timeoutMs} ms",
    hint: "Check the service's health path answers 2xx/3xx on $PORT; `berth logs` shows its output.",
    http: 503,
    exit: 1,
  },
  BERTH_ROUTER_CERT_FAILED: {
    message: "certificate for {domain} could not be obtained: {detail}",
    hint: "Check that {domain} resolves to this server and port 80 reaches Berth's router.",
    http: 502,
    exit: 1,
  },
  BERTH_ROUTER_CERT_BUDGET: {
    message: "issuance budget for {registeredDomain} is used up ({count} certificates in {windowDays} days)",
    hint: "Wait for the window to pass or use fewer subdomains; Let's Encrypt limits certificates per registered domain.",
    http: 429,
    exit: 5,
  },
});
