import assert from "node:assert/strict";
import { test } from "node:test";
import type { ArtifactRuntime, Release } from "../engine.ts";
import { instanceEnv } from "./instance-env.ts";

const ref = { project: "p", environment: "production", service: "api" };
const release = (runtime?: ArtifactRuntime): Release => ({
  id: "rel_1",
  number: 1,
  service: ref,
  artifact: { kind: "dir", path: "/a/rel", digest: "d", ...(runtime ? { runtime } : {}) },
  sealedEnv: "",
});

test("the release's runtime comes first on PATH, whatever PATH the service sets; its variables yield to the service's", () => {
  const runtime = { resolved: { node: "20.20.2" }, path: ["/cache/node-20/bin", "/a/rel/.venv/bin"], env: { VIRTUAL_ENV: "/a/rel/.venv", OTHER: "x" }, readOnlyPaths: ["/cache/node-20"] };
  const env = instanceEnv({ opened: { OTHER: "mine" }, engineId: "e", instanceId: "i", ref, release: release(runtime), disks: [] });
  assert.equal(env.PATH, "/cache/node-20/bin:/a/rel/.venv/bin:/usr/local/bin:/usr/bin:/bin");
  assert.equal(env.VIRTUAL_ENV, "/a/rel/.venv");
  assert.equal(env.OTHER, "mine");
  const own = instanceEnv({ opened: { PATH: "/opt/bin" }, engineId: "e", instanceId: "i", ref, release: release(runtime), disks: [] });
  assert.equal(own.PATH, "/cache/node-20/bin:/a/rel/.venv/bin:/opt/bin");
});

test("a release built before runtimes were recorded runs as before", () => {
  const env = instanceEnv({ opened: {}, engineId: "e", instanceId: "i", ref, release: release(), disks: [] });
  assert.equal(env.PATH, "/usr/local/bin:/usr/bin:/bin");
  assert.equal(env.VIRTUAL_ENV, undefined);
});
