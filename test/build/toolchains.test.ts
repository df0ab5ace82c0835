/**
 * The builder provides runtimes and package managers for real, from the npm registry into an
 * empty tool cache: yarn 2+ (Plug'n'Play, --immutable) and bun with committed lockfiles
 * (test/fixtures/pm/, made here with those tools), pnpm named by package.json `packageManager`,
 * Node 16 with an npm that runs on it (the seed case: `NODE_VERSION: ~16.13.0`). And the errors a
 * user sees: an unsatisfiable range located in its file, pip's own failure lines, a Python pin
 * the machine cannot honour.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_BUILD_ENV_ALLOW, hostBuildEnv, hostNpmGlobalConfig } from "../../src/build/build-env.ts";
import { type BuildSettings, DirBuilder } from "../../src/build/dir-builder.ts";
import { BerthError } from "../../src/core/errors.ts";
import type { Artifact } from "../../src/engine/engine.ts";

const PM = fileURLToPath(new URL("../fixtures/pm/", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "berth-toolchains-"));
after(() => rmSync(root, { recursive: true, force: true }));
const cacheDir = join(root, "cache");
const builder = new DirBuilder({ artifactsDir: join(root, "artifacts"), cacheDir });
const globalconfig = hostNpmGlobalConfig(process.env, existsSync);
const env = {
  ...hostBuildEnv(process.env, DEFAULT_BUILD_ENV_ALLOW),
  HOME: process.env.HOME,
  CI: "true",
  npm_config_cache: join(cacheDir, "npm"),
  ...(globalconfig ? { npm_config_globalconfig: globalconfig } : {}),
  // No package index for Python, and not the host's pip config: only what the machine has.
  PIP_NO_INDEX: "1",
  PIP_CONFIG_FILE: "/dev/null",
  PIP_FIND_LINKS: undefined,
};
let n = 0;

function project(files: Record<string, string>, from?: string): string {
  const dir = mkdtempSync(join(root, "src-"));
  if (from) cpSync(from, dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function build(sourceDir: string, inputs: Partial<BuildSettings> = {}): Promise<{ artifact: Artifact & { kind: "dir" }; log: string[] }> {
  const log: string[] = [];
  const artifact = await builder.build({
    inputs: { runtime: "auto", buildCommand: null, publishDir: null, extra: null, ...inputs },
    digest: String(++n).padStart(64, "0"),
    project: "toolchains",
    service: "app",
    sourceRoot: sourceDir,
    rootDir: ".",
    env,
    signal: AbortSignal.timeout(600_000),
    onLog: (l) => log.push(l.line),
    timeoutMs: 600_000,
  }).catch((e: unknown) => {
    if (e instanceof BerthError) Object.assign(e, { log });
    throw e;
  });
  assert.equal(artifact.kind, "dir");
  return { artifact: artifact as Artifact & { kind: "dir" }, log };
}

test("yarn 2+ (Plug'n'Play) installs --immutable from its lockfile; a second build restores the install from cache", async () => {
  const first = await build(project({}, join(PM, "yarn-berry")));
  assert.match(readFileSync(join(first.artifact.path, "built.txt"), "utf8"), /^is-number\(7\): true on v24\./);
  assert.match(first.artifact.runtime!.resolved.packageManager!, /^yarn@4\./);
  assert.ok(existsSync(join(first.artifact.path, ".pnp.cjs")));
  const second = await build(project({ "CHANGED.md": "code change" }, join(PM, "yarn-berry")));
  assert.ok(second.log.includes("dependencies from cache (yarn.lock)"), second.log.join("\n"));
  assert.match(readFileSync(join(second.artifact.path, "built.txt"), "utf8"), /true/);
});

test("a yarn 2+ lockfile that does not match package.json fails the frozen install", async () => {
  const dir = project({}, join(PM, "yarn-berry"));
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  pkg.dependencies.ms = "2.1.3";
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
  await assert.rejects(build(dir), (e: unknown) => e instanceof BerthError && e.code === "BERTH_BUILD_FAILED" && /install/.test(e.message));
});

test("bun from the npm registry installs from bun.lock and runs the build script", async () => {
  const { artifact, log } = await build(project({}, join(PM, "bun")));
  assert.match(artifact.runtime!.resolved.packageManager!, /^bun@1\./);
  assert.ok(log.some((l) => /runtime: .*bun 1\./.test(l)), log.join("\n"));
  assert.match(readFileSync(join(artifact.path, "built.txt"), "utf8"), /true/);
});

test("package.json packageManager names pnpm: that pnpm installs (no lockfile: a plain install)", async () => {
  const dir = project({
    "package.json": JSON.stringify({ name: "pm-field", version: "1.0.0", packageManager: "pnpm@10.34.9", dependencies: { "is-number": "7.0.0" }, scripts: { build: "node -e \"require('is-number')\"" } }),
  });
  const { artifact } = await build(dir);
  assert.equal(artifact.runtime!.resolved.packageManager, "pnpm@10.34.9");
  assert.ok(existsSync(join(artifact.path, "node_modules", ".pnpm")));
  assert.ok(existsSync(join(cacheDir, "projects", "toolchains", "pnpm", "store")), "pnpm's store is under the project's own build cache");
});

test("NODE_VERSION ~16.13.0 (the seed case): Node 16.13.x with an npm that runs on it, for the build and recorded for the service", async () => {
  const dir = project({ "package.json": JSON.stringify({ name: "old", version: "1.0.0", dependencies: { "is-number": "7.0.0" }, scripts: { build: "node -e \"require('fs').writeFileSync('v', process.version + ' ' + process.env.npm_config_user_agent)\"" } }) });
  const { artifact, log } = await build(dir, { versions: { nodeVersionEnv: "~16.13.0" } });
  const [node, agent] = readFileSync(join(artifact.path, "v"), "utf8").split(" ");
  assert.match(node!, /^v16\.13\./);
  const npm = /npm\/(\d+)\./.exec(agent!)?.[1];
  assert.ok(Number(npm) <= 9, `npm ${npm} runs on Node 16 (npm 10+ refuses it)`);
  assert.equal(artifact.runtime!.resolved.node, node!.slice(1));
  assert.ok(artifact.runtime!.path[0]!.includes(`node-${node!.slice(1)}`));
  assert.ok(log.some((l) => l.includes('the NODE_VERSION variable "~16.13.0"')), log.join("\n"));
});

test("an unsatisfiable .nvmrc is a located error naming what the registry has", async () => {
  const dir = project({ "package.json": '{"name":"x","version":"1.0.0"}', ".nvmrc": ">=99\n" });
  await assert.rejects(build(dir), (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.equal(e.code, "BERTH_BUILD_NODE_UNSATISFIABLE");
    assert.match(e.message, /no Node\.js release satisfies '>=99' \(\.nvmrc:1 ">=99"\)/);
    assert.match(e.hint, /has Node\.js 0\.8\.\d+ to \d+\.\d+\.\d+/);
    return true;
  });
});

test("pip's failure lines are the error's message; a Python pin the machine lacks is a warning naming the Python used", async () => {
  const dir = project({ "requirements.txt": "flask\nberth-no-such-package==1.0\n", ".python-version": "3.99\n" });
  await assert.rejects(build(dir), (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.equal(e.code, "BERTH_BUILD_PIP_FAILED");
    assert.match(e.message, /No matching distribution found for berth-no-such-package==1\.0/);
    const log = (e as BerthError & { log: string[] }).log;
    assert.ok(log.some((l) => /^warning: Python 3\.99 \(\.python-version:1\) is not on this machine .* using Python 3\.\d+\.\d+ \(\/usr\/bin\/python3\)/.test(l)), log.join("\n"));
    return true;
  });
});
