import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assertNoEscapingSymlinks, readRegularFile, resolveInside, writeNewFile } from "./paths.ts";

const tree = () => {
  const root = mkdtempSync(join(tmpdir(), "berth-paths-"));
  mkdirSync(join(root, "apps", "api"), { recursive: true });
  writeFileSync(join(root, "apps", "api", "package.json"), "{}");
  return root;
};

test("issue 17: rootDir resolves inside the tree, through symlinks too", () => {
  const root = tree();
  assert.equal(resolveInside(root, "apps/api", "rootDir"), join(root, "apps", "api"));
  assert.throws(() => resolveInside(root, "../../etc", "rootDir"), /leaves the source tree: it points above/);
  symlinkSync("/etc", join(root, "apps", "etc"));
  assert.throws(() => resolveInside(root, "apps/etc", "rootDir"), /a symlink leads to \/etc/);
});

test("issue 17: a symlink leaving the tree is refused before anything is copied; inner links are fine", () => {
  const root = tree();
  symlinkSync("api/package.json", join(root, "apps", "pkg"));
  assertNoEscapingSymlinks(root, new Set(["node_modules"]));
  symlinkSync("/etc/shadow", join(root, "apps", "api", "leak"));
  assert.throws(() => assertNoEscapingSymlinks(root, new Set()), /symlink 'apps\/api\/leak' leaves the source tree: it points to \/etc\/shadow/);
  // Skipped directories (rebuilt from lockfiles, never copied) are not walked.
  const other = tree();
  mkdirSync(join(other, "node_modules"));
  symlinkSync("/etc", join(other, "node_modules", "x"));
  assertNoEscapingSymlinks(other, new Set(["node_modules"]));
});

test("issue 17: build output is read and written without following links the build planted", () => {
  const root = tree();
  symlinkSync("/etc/passwd", join(root, "package.json"));
  assert.equal(readRegularFile(root, "package.json"), undefined);
  const before = readFileSync("/etc/passwd", "utf8");
  symlinkSync("/etc/passwd", join(root, ".berth-built"));
  writeNewFile(root, ".berth-built", "x");
  assert.equal(readFileSync("/etc/passwd", "utf8"), before);
  assert.equal(readFileSync(join(root, ".berth-built"), "utf8"), "x");
  symlinkSync("/etc", join(root, "sub"));
  assert.throws(() => writeNewFile(root, "sub/passwd", "x"), /replaced a directory with a symlink/);
  assert.equal(readRegularFile(root, "apps/api/package.json"), "{}");
});
