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
