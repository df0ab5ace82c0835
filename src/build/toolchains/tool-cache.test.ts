import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { dependencyManifest, SandboxedInstallCache, installOutputs } from "../install-cache.ts";
import { type InstallRunner, ToolCache } from "./tool-cache.ts";

const root = mkdtempSync(join(tmpdir(), "berth-toolcache-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Stands in for `npm install --prefix DIR pkg`: writes a package into DIR after a delay. */
function fakeNpm(calls: string[], delayMs = 30, fail = false): InstallRunner {
  return async (argv) => {
    const prefix = argv[argv.indexOf("--prefix") + 1]!;
    calls.push(prefix);
    await new Promise((r) => setTimeout(r, delayMs));
    if (fail) throw new Error("registry down");
    mkdirSync(join(prefix, "node_modules", "tool", "bin"), { recursive: true, mode: 0o700 });
    writeFileSync(join(prefix, "node_modules", "tool", "bin", "tool"), "#!/bin/sh\n", { mode: 0o700 });
    writeFileSync(join(prefix, "node_modules", "tool", "package.json"), "{}", { mode: 0o600 });
  };
}

test("concurrent requests for one tool share one install; the result is complete and world-readable", async () => {
  const cache = new ToolCache(join(root, "a"));
  const calls: string[] = [];
  const dirs = await Promise.all([1, 2, 3].map(() => cache.ensure("tool-1.0.0", ["tool@1.0.0"], fakeNpm(calls))));
  assert.equal(calls.length, 1);
  assert.deepEqual(new Set(dirs), new Set([join(root, "a", "tool-1.0.0")]));
  assert.ok(cache.has("tool-1.0.0"));
  assert.equal(statSync(join(dirs[0]!, "node_modules", "tool", "bin")).mode & 0o777, 0o755);
  assert.equal(statSync(join(dirs[0]!, "node_modules", "tool", "bin", "tool")).mode & 0o777, 0o755);
  assert.equal(statSync(join(dirs[0]!, "node_modules", "tool", "package.json")).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(join(root, "a")), ["tool-1.0.0"], "no temporary directory left");
  // Installed: no runner call at all.
  await cache.ensure("tool-1.0.0", ["tool@1.0.0"], fakeNpm(calls));
  assert.equal(calls.length, 1);
});

test("two caches on one directory (two daemons) racing: both get the complete tool", async () => {
  const dir = join(root, "b");
  const [x, y] = [new ToolCache(dir), new ToolCache(dir)];
  const calls: string[] = [];
  const [dx, dy] = await Promise.all([x.ensure("tool-2.0.0", ["tool@2.0.0"], fakeNpm(calls, 20)), y.ensure("tool-2.0.0", ["tool@2.0.0"], fakeNpm(calls, 40))]);
  assert.equal(calls.length, 2);
  assert.equal(dx, dy);
  assert.ok(existsSync(join(dx, "node_modules", "tool", "bin", "tool")));
  assert.deepEqual(readdirSync(dir), ["tool-2.0.0"]);
});

test("a failed install leaves nothing behind and is tried again next time", async () => {
  const cache = new ToolCache(join(root, "c"));
  const calls: string[] = [];
  await assert.rejects(cache.ensure("tool-3.0.0", ["tool@3.0.0"], fakeNpm(calls, 1, true)), /registry down/);
  assert.deepEqual(readdirSync(join(root, "c")), []);
  await cache.ensure("tool-3.0.0", ["tool@3.0.0"], fakeNpm(calls, 1));
  assert.equal(calls.length, 2);
});

test("install cache: every node_modules of a workspace tree and the extras, restored as saved", async () => {
  const app = join(root, "app");
  for (const d of ["node_modules/x", "packages/a/node_modules/y", "packages/a/src", ".git/node_modules"]) mkdirSync(join(app, d), { recursive: true });
  writeFileSync(join(app, "node_modules", "x", "index.js"), "x");
  writeFileSync(join(app, ".pnp.cjs"), "pnp");
  assert.deepEqual(installOutputs(app, [".pnp.cjs", ".yarn/cache"]).sort(), [".pnp.cjs", "node_modules", "packages/a/node_modules"]);
  // The copies run as the build's steps do; unsandboxed here, the argv runs as is.
  const step = (argv: readonly string[]) => new Promise<void>((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: "ignore" });
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(" ")}: exit ${code}`))));
  });
  const cache = new SandboxedInstallCache(join(root, "installs"), step);
  await cache.save("k", app, [".pnp.cjs"]);
  const fresh = join(root, "fresh");
  mkdirSync(fresh);
  assert.equal(await cache.restore("nope", fresh), false);
  assert.equal(await cache.restore("k", fresh), true);
  assert.ok(existsSync(join(fresh, "node_modules", "x", "index.js")));
  assert.ok(existsSync(join(fresh, "packages", "a", "node_modules", "y")));
  assert.ok(existsSync(join(fresh, ".pnp.cjs")));
});

test("install key: dependency declarations of every package.json count, scripts do not", () => {
  const app = join(root, "manifest");
  mkdirSync(join(app, "packages", "a"), { recursive: true });
  const write = (path: string, pkg: object) => writeFileSync(join(app, path), JSON.stringify(pkg));
  write("package.json", { name: "root", workspaces: ["packages/*"], scripts: { build: "a" } });
  write("packages/a/package.json", { name: "a", dependencies: { x: "1" } });
  const before = dependencyManifest(app);
  write("package.json", { name: "root", workspaces: ["packages/*"], scripts: { build: "b" } });
  assert.equal(dependencyManifest(app), before, "a script change keeps the cached install");
  write("packages/a/package.json", { name: "a", dependencies: { x: "2" } });
  assert.notEqual(dependencyManifest(app), before, "a workspace's dependency change does not");
});
