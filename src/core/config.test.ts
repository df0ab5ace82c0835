import assert from "node:assert/strict";
import { test } from "node:test";
import { LETS_ENCRYPT_DIRECTORY, resolveConfig } from "./config.ts";

const acmeOf = (env: Record<string, string>) => resolveConfig({ flags: {}, env: { BERTH_DATA_DIR: "/tmp/berth-config-test", ...env }, isRoot: false }).acme;
const fieldOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string; message: string }).code === "BERTH_CONFIG_INVALID" ? (e as Error).message : undefined;
  }
  return undefined;
};

test("ACME: Let's Encrypt by default, another directory, `off`; contact and trusted CA file optional", () => {
  assert.deepEqual(acmeOf({}), { kind: "on", directoryUrl: LETS_ENCRYPT_DIRECTORY });
  assert.deepEqual(acmeOf({ BERTH_ACME_DIRECTORY: "off" }), { kind: "off" });
  assert.deepEqual(acmeOf({ BERTH_ACME_DIRECTORY: "https://127.0.0.1:14000/dir", BERTH_ACME_EMAIL: "ops@example.com", BERTH_ACME_CA_FILE: "/etc/pebble/ca.pem" }), {
    kind: "on",
    directoryUrl: "https://127.0.0.1:14000/dir",
    email: "ops@example.com",
    caFile: "/etc/pebble/ca.pem",
  });
  assert.ok(Object.isFrozen(acmeOf({})));
});

test("ACME: a directory that is not an https URL, or a contact that is not an address, stops the start naming the variable", () => {
  assert.match(fieldOf(() => acmeOf({ BERTH_ACME_DIRECTORY: "http://ca.example/dir" })) ?? "", /BERTH_ACME_DIRECTORY.*https:\/\//);
  assert.match(fieldOf(() => acmeOf({ BERTH_ACME_DIRECTORY: "letsencrypt" })) ?? "", /BERTH_ACME_DIRECTORY/);
  assert.match(fieldOf(() => acmeOf({ BERTH_ACME_EMAIL: "ops" })) ?? "", /BERTH_ACME_EMAIL.*not an email address/);
});

test("Swarm (issue 20): BERTH_DOCKER_HOST as unix:///path or a path, the registry address defaulting to loopback; none when unset; tcp refused", () => {
  const swarmOf = (env: Record<string, string>, flags: Record<string, string> = {}) => resolveConfig({ flags, env: { BERTH_DATA_DIR: "/tmp/berth-config-test", ...env }, isRoot: false }).swarm;
  assert.equal(swarmOf({}), undefined);
  assert.deepEqual(swarmOf({ BERTH_DOCKER_HOST: "unix:///var/run/docker.sock" }), { dockerSocket: "/var/run/docker.sock", registry: "127.0.0.1:5000" });
  assert.deepEqual(swarmOf({ BERTH_DOCKER_HOST: "/run/d.sock", BERTH_SWARM_REGISTRY: "10.0.0.1:5050" }), { dockerSocket: "/run/d.sock", registry: "10.0.0.1:5050" });
  assert.deepEqual(swarmOf({ BERTH_DOCKER_HOST: "/env.sock" }, { "docker-host": "/flag.sock" }), { dockerSocket: "/flag.sock", registry: "127.0.0.1:5000" });
  assert.match(fieldOf(() => swarmOf({ BERTH_DOCKER_HOST: "tcp://10.0.0.1:2375" })) ?? "", /BERTH_DOCKER_HOST.*not a unix socket/);
  assert.match(fieldOf(() => swarmOf({ BERTH_DOCKER_HOST: "/d.sock", BERTH_SWARM_REGISTRY: "registry" })) ?? "", /BERTH_SWARM_REGISTRY.*host:port/);
});
