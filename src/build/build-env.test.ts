import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DEFAULT_BUILD_ENV_ALLOW, buildEnvAllowlist, diagnoseTrust, hostBuildEnv, hostNpmGlobalConfig } from "./build-env.ts";
import { trustPaths } from "./sandbox.ts";

const host = {
  PATH: "/usr/bin",
  BERTH_KEK: "c2VjcmV0",
  BERTH_TOKEN: "tok",
  AWS_SECRET_ACCESS_KEY: "nope",
  NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
  SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
  HTTPS_PROXY: "http://proxy:3128",
  no_proxy: "localhost",
  npm_config_registry: "https://registry.example/",
  npm_config_cache: "/root/.npm",
  npm_config_user_agent: "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false",
  npm_config_loglevel: "silent",
  npm_config_nodedir: "/usr",
  NPM_CONFIG_USERCONFIG: "/root/.npmrc",
  PIP_INDEX_URL: "https://pypi.example/simple",
  YARN_NPM_REGISTRY_SERVER: "https://registry.example/",
};

test("builds receive the host's trust, proxy and package-manager settings and nothing else", () => {
  const env = hostBuildEnv(host, DEFAULT_BUILD_ENV_ALLOW);
  assert.deepEqual(Object.keys(env).sort(), [
    "HTTPS_PROXY",
    "NODE_EXTRA_CA_CERTS",
    "PATH",
    "PIP_INDEX_URL",
    "SSL_CERT_FILE",
    "YARN_NPM_REGISTRY_SERVER",
    "no_proxy",
    "npm_config_registry",
  ]);
});

test("npm settings naming the daemon's own paths, and npm's own state from a script it runs, stay out of builds", () => {
  const env = hostBuildEnv(host, DEFAULT_BUILD_ENV_ALLOW);
  for (const name of ["npm_config_cache", "NPM_CONFIG_USERCONFIG", "npm_config_user_agent", "npm_config_loglevel", "npm_config_nodedir"]) assert.equal(env[name], undefined, name);
});

test("BERTH_BUILD_ENV adds names and prefixes and removes defaults", () => {
  const allow = buildEnvAllowlist(["AWS_*", "-HTTPS_PROXY"]);
  const env = hostBuildEnv(host, allow);
  assert.equal(env.AWS_SECRET_ACCESS_KEY, "nope");
  assert.equal(env.HTTPS_PROXY, undefined);
  assert.equal(env.BERTH_KEK, undefined);
});

test("a certificate failure in a build's output names the variable that fixes it", () => {
  const npm = ["npm error code SELF_SIGNED_CERT_IN_CHAIN", "npm error errno SELF_SIGNED_CERT_IN_CHAIN"];
  assert.deepEqual(diagnoseTrust(npm, {}), { marker: "SELF_SIGNED_CERT_IN_CHAIN", variables: [{ name: "NODE_EXTRA_CA_CERTS", set: false }] });
  const pip = ["  WARNING: Retrying ... [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate"];
  assert.equal(diagnoseTrust(pip, { SSL_CERT_FILE: "/x" })?.variables.find((v) => v.name === "SSL_CERT_FILE")?.set, true);
  assert.equal(diagnoseTrust(["npm error code E404"], {}), undefined);
});

test("the host's global npmrc: the explicit setting wins, else the system Node's", () => {
  assert.equal(hostNpmGlobalConfig({ npm_config_globalconfig: "/opt/npmrc" }, () => true), "/opt/npmrc");
  assert.equal(hostNpmGlobalConfig({}, (p) => p === "/etc/npmrc"), "/etc/npmrc");
  assert.equal(hostNpmGlobalConfig({}, () => false), undefined);
});

describe("trust paths a sandboxed build gets bound", () => {
  test("a symlinked npmrc is bound by its target; a link into /usr or /etc needs no bind", () => {
    // The bootstrapped Node's <prefix>/etc/npmrc links to the system npmrc: binding the link
    // itself made bubblewrap fail every sandboxed build ("Can't create file at .../etc/npmrc").
    const dir = mkdtempSync(join(tmpdir(), "berth-trust-"));
    try {
      const own = join(dir, "corp-ca.pem");
      writeFileSync(own, "pem");
      symlinkSync(own, join(dir, "ca-link.pem"));
      symlinkSync("/etc/hostname", join(dir, "npmrc"));
      assert.deepEqual(trustPaths({ NODE_EXTRA_CA_CERTS: join(dir, "ca-link.pem"), npm_config_globalconfig: join(dir, "npmrc") }), [own]);
      assert.deepEqual(trustPaths({ SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt", npm_config_cafile: join(dir, "missing.pem") }), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
