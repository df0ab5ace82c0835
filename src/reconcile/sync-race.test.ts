/**
 * Issue 15, point 2 of "what was seen": a sync that lands while a reconcile is running must end
 * with the instances running the newest blueprint's environment — never a release that records
 * the new inputs while sealing the old blueprint's env (`generation 26/26, live` with WEBREV=10
 * in the processes). Memory engine (it opens the real sealed env of each release it starts) and
 * a builder that takes a few milliseconds, so syncs land before, during and after builds and
 * rollouts at 20 random offsets.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import type { Builder } from "../deploy/ports.ts";
import { MemoryEngine } from "../engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../../test/helpers/daemon.ts";

const blueprint = (rev: number, extra: string) => `version: 1
project: racy
services:
  web:
    type: web
    start: node server.js
    replicas: 2
    env:
      WEBREV: "${rev}"
      EXTRA: "${extra}"
  worker:
    type: worker
    start: node worker.js
    env:
      WEBREV: "${rev}"
`;

describe("a sync racing a running reconcile", () => {
  let t: TestDaemon;
  after(() => t?.close());

  test("always ends with every instance running the newest blueprint's env (20 random offsets)", async () => {
    /** Env each release was started with, as the engine opened it from the sealed snapshot. */
    const envOf = new Map<string, Readonly<Record<string, string>>>();
    const builder: Builder = {
      build: async ({ service, signal }) => {
        await sleep(5 + Math.floor(Math.random() * 25), undefined, { signal });
        return { kind: "dir", path: "/nonexistent", digest: `b-${service.inputsDigest.slice(0, 16)}` };
      },
    };
    t = await startTestDaemon({
      builder,
      engine: ({ bus, openEnv }) =>
        new MemoryEngine({
          events: bus,
          openEnv,
          startBehaviour: (_spec, release, env) => {
            envOf.set(release.id, env);
            return "run";
          },
        }),
    });
    const dir = writeProject(join(tempDir(), "racy"), blueprint(0, "x"), { "server.js": "", "worker.js": "" });
    const sync = (rev: number, extra: string) => t.request("POST", "/v1/sync", { environment: "production", blueprint: blueprint(rev, extra), sourceDir: dir });
    assert.equal((await sync(0, "x")).status, 202);
    await t.daemon.reconciler.whenIdle();

    const offsets: number[] = [];
    for (let round = 1; round <= 20; round++) {
      const offset = Math.floor(Math.random() * 80);
      offsets.push(offset);
      const rev = round * 2;
      assert.equal((await sync(rev - 1, `a${round}`)).status, 202);
      await sleep(offset);
      // Lands before, during or after the build or the rollout of the previous sync.
      assert.equal((await sync(rev, `b${round}`)).status, 202);
      await t.daemon.reconciler.whenIdle();

      const env = t.daemon.store.environments.require("racy", "production");
      assert.equal(env.status, "live", `round ${round} (offset ${offset} ms): ${env.statusDetail}`);
      assert.equal(env.reconciledGeneration, env.generation, `round ${round}: generation`);
      for (const a of await t.daemon.engine.actual({ project: "racy", environment: "production" })) {
        const svc = t.daemon.store.services.byName(env.id, a.ref.service)!;
        assert.equal(a.releaseId, svc.desiredReleaseId, `round ${round}: ${a.ref.service} runs its desired release`);
        const release = t.daemon.store.releases.byId(a.releaseId)!;
        assert.equal((release.config as { inputsDigest: string }).inputsDigest, svc.inputsDigest, `round ${round}: ${a.ref.service}'s release is cut from the current inputs`);
        const live = a.instances.filter((i) => i.state !== "exited");
        assert.equal(live.length, a.spec.replicas);
        for (const i of live) {
          const opened = envOf.get(i.releaseId);
          assert.equal(opened?.WEBREV, String(rev), `round ${round} (offset ${offset} ms): ${i.id} of ${a.ref.service} runs WEBREV=${opened?.WEBREV}, want ${rev}`);
          if (a.ref.service === "web") assert.equal(opened?.EXTRA, `b${round}`);
        }
      }
    }
    assert.equal(offsets.length, 20);
  });
});
