/**
 * Builds reach the package registry with the host's trust and proxy settings, from an empty npm
 * cache (the way a new machine runs them): the environment the daemon gives builds
 * (src/build/build-env.ts) installs a real dependency. With the trust variables taken away, a
 * build either still succeeds (no intercepting proxy on this network) or fails with the catalogued
 * error naming the variable — never with a bare "npm ci exited with 1".
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DEFAULT_BUILD_ENV_ALLOW, hostBuildEnv, hostNpmGlobalConfig } from "../../src/build/build-env.ts";
import { DirBuilder } from "../../src/build/dir-builder.ts";
import { BerthError } from "../../src/core/errors.ts";

const root = mkdtempSync(join(tmpdir(), "berth-trust-"));
after(() => rmSync(root, { recursive: true, force: true }));

function app(): string {
  const dir = mkdtempSync(join(root, "app-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "trust-probe", version: "1.0.0", dependencies: { "is-number": "7.0.0" } }));
  return dir;
}

function build(env: Record<string, string | undefined>) {
  const dir = mkdtempSync(join(root, "berth-"));
  const builder = new DirBuilder({ artifactsDir: join(dir, "artifacts"), cacheDir: join(dir, "cache") });
  const home = join(dir, "home");
  mkdirSync(home);
  const lines: string[] = [];
  const job = builder.build({
    inputs: { runtime: "node", buildCommand: null, publishDir: null, extra: null },
    digest: "d".repeat(64),
    project: "trust",
    service: "probe",
    sourceRoot: app(),
    rootDir: ".",
    env: { ...env, HOME: home, CI: "true", npm_config_cache: join(dir, "npm-cache") },
    signal: AbortSignal.timeout(300_000),
    onLog: (l) => lines.push(l.line),
    timeoutMs: 300_000,
  });
  return { job, lines };
}

test("a build with the daemon's build environment installs from the registry with an empty cache", async () => {
  const globalconfig = hostNpmGlobalConfig(process.env, existsSync);
  const env = { ...hostBuildEnv(process.env, DEFAULT_BUILD_ENV_ALLOW), ...(globalconfig ? { npm_config_globalconfig: globalconfig } : {}) };
  const { job, lines } = build(env);
  const artifact = await job.catch((e: unknown) => assert.fail(`${(e as Error).message}\n${lines.slice(-20).join("\n")}`));
  assert.equal(artifact.kind, "dir");
  if (artifact.kind === "dir") assert.ok(existsSync(join(artifact.path, "node_modules", "is-number", "package.json")));
});

test("without the trust settings a build fails naming the variable, or succeeds where none is needed", async (t) => {
  // Only PATH: no CA variables, no npmrc with a cafile (a fresh, empty global config).
  const empty = (name: string) => {
    writeFileSync(join(root, name), "");
    return join(root, name);
  };
  const { job } = build({ PATH: process.env.PATH, npm_config_globalconfig: empty("global-npmrc"), npm_config_userconfig: empty("user-npmrc"), npm_config_fetch_retries: "0" });
  try {
    await job;
    t.diagnostic("this network needs no extra CA: the build succeeded without one");
  } catch (e) {
    assert.ok(e instanceof BerthError, String(e));
    assert.equal(e.code, "BERTH_BUILD_TLS_UNTRUSTED", e.message);
    assert.match(e.hint, /NODE_EXTRA_CA_CERTS \(not set\)/);
    t.diagnostic(e.message);
  }
});
