/**
 * Issue 18, acceptance: a worker with a queue-depth target scales from 1 to N while a queue of
 * jobs waits in the environment's Redis, and back to 1 once it is drained, without flapping
 * (scale-ups, then scale-downs, never up again), every change an event naming the metric.
 * Stabilization window and cooldown are shortened; the Redis is the managed one, real.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { eventually } from "../../src/router/test-helpers.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const BLUEPRINT = `version: 1
project: jobs
services:
  worker:
    type: worker
    start: node worker.js
    env:
      REDIS_URL: { fromKeyValue: queue.url }
    scaling:
      min: 1
      max: 4
      queue: { keyValue: queue, key: "bull:emails:wait", targetPerReplica: 10 }
      stabilizationWindow: 3s
      cooldown: 1s
keyValues:
  queue: { redis: 7, persistence: none }
`;

let t: TestDaemon;
let redisUrl = "";
before(async () => {
  t = await startTestDaemon({
    engine: ({ bus, openEnv }) =>
      new MemoryEngine({
        events: bus,
        openEnv,
        startBehaviour: (_spec, _release, env) => {
          if (env.REDIS_URL) redisUrl = env.REDIS_URL;
          return "run";
        },
      }),
    observe: { autoscaleIntervalMs: 250, datastoreIntervalMs: 500 },
  });
});
after(async () => {
  await t?.close();
});

test("queue depth scales a worker 1 -> 4 and back to 1 without flapping", { timeout: 120_000 }, async () => {
  const dir = writeProject(join(tempDir(), "jobs"), BLUEPRINT, { "worker.js": "" });
  assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir })).status, 202);
  await t.daemon.reconciler.whenIdle();
  const instances = async () => (await t.daemon.engine.actual({ project: "jobs", environment: "production" }))[0]?.instances.filter((i) => i.state !== "exited").length ?? 0;
  assert.equal(await instances(), 1);
  const redis = new Redis(redisUrl);
  try {
    await redis.rpush("bull:emails:wait", ...Array.from({ length: 35 }, (_, i) => `job-${i}`));
    await eventually(async () => (await instances()) === 4, 20_000, 100);
    // The workers drain the queue: 5 jobs every 400 ms.
    while ((await redis.llen("bull:emails:wait")) > 0) {
      await redis.lpop("bull:emails:wait", 5);
      await new Promise((r) => setTimeout(r, 400));
    }
    await eventually(async () => (await instances()) === 1, 30_000, 100);
    await new Promise((r) => setTimeout(r, 2000)); // and it stays there
    assert.equal(await instances(), 1);
  } finally {
    redis.disconnect();
  }
  const scaled = t.daemon.store.events.list({ project: "jobs", types: ["autoscale:scaled"], limit: 100 }).map((e) => e.data as { from: number; to: number; metric: string; value: number });
  assert.ok(scaled.length >= 2, JSON.stringify(scaled));
  assert.ok(scaled.every((s) => s.metric === "queue"));
  const firstDown = scaled.findIndex((s) => s.to < s.from);
  assert.ok(firstDown > 0, "scaled up first");
  assert.ok(scaled.slice(firstDown).every((s) => s.to < s.from), `no flapping: ${scaled.map((s) => `${s.from}->${s.to}`).join(" ")}`);
  assert.equal(scaled.at(-1)!.to, 1);
  assert.ok(scaled.some((s) => s.to === 4));
  // The managed Redis is sampled too (datastore metrics), and the queue length is a series.
  t.daemon.observe.collector.flush();
  const fromS = Math.floor(Date.now() / 1000) - 600;
  const redisMem = t.daemon.observe.repo.query({ project: "jobs", environment: "production", service: "queue", names: ["redis.used_memory", "redis.up"], fromS });
  assert.ok(redisMem.some((p) => p.name === "redis.used_memory" && p.max > 0), JSON.stringify(redisMem.slice(0, 2)));
  const queue = t.daemon.observe.repo.query({ project: "jobs", environment: "production", service: "worker", names: ["queue.length"], fromS });
  assert.ok(queue.some((p) => p.max >= 35));
  process.stdout.write(`# decisions: ${scaled.map((s) => `${s.from}->${s.to} (queue ${s.value})`).join(", ")}\n`);
});
