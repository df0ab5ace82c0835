/**
 * PerEnvironmentEngine (issue 20): each environment's calls reach the engine its blueprint names;
 * other engines start on first use only; an engine the daemon does not have fails the call (and
 * an apply ends `failed` with the reason) instead of running the environment elsewhere.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BerthError } from "../core/errors.ts";
import { contractSpec, RecordedEvents } from "./contract/contract-fixture.ts";
import type { Engine, EnvironmentRef, Release, RolloutEvent, ServiceRef } from "./engine.ts";
import { noTraffic } from "./engine.ts";
import { MemoryEngine } from "./memory/memory-engine.ts";
import { type LazyEngine, PerEnvironmentEngine } from "./per-environment.ts";

const openEnv = async () => ({});
const release = (ref: ServiceRef): Release => ({ id: `rel_${ref.environment}`, number: 1, service: ref, artifact: { kind: "dir", path: "/nonexistent", digest: "d" }, sealedEnv: "{}" });
const rollout = { policy: { kind: "start-first", maxSurge: 1 } as const, health: { wait: async () => ({ ok: true, detail: "ok" }) }, traffic: noTraffic };

function lazy(engine: Engine): LazyEngine & { starts: number } {
  let started: Engine | undefined;
  const l = {
    starts: 0,
    get: async () => {
      if (!started) {
        l.starts++;
        await engine.start();
        started = engine;
      }
      return started;
    },
    current: () => started,
    stop: async (o: { stopInstances: boolean }) => {
      await started?.stop(o);
      started = undefined;
    },
  };
  return l;
}

async function run(engine: Engine, ref: ServiceRef): Promise<RolloutEvent[]> {
  const out: RolloutEvent[] = [];
  for await (const e of engine.apply(contractSpec(ref, "x", { replicas: 1, listens: false }), release(ref), rollout, new AbortController().signal)) out.push(e);
  return out;
}

test("calls reach the engine the environment's blueprint names; the other engine starts on first use", async () => {
  const local = new MemoryEngine({ events: new RecordedEvents(), openEnv });
  const swarmEngine = new MemoryEngine({ events: new RecordedEvents(), openEnv });
  const swarm = lazy(swarmEngine);
  const kinds: Record<string, string> = { "shop/production": "swarm" };
  const engine = new PerEnvironmentEngine({
    local,
    others: { swarm },
    kindOf: (env: EnvironmentRef) => kinds[`${env.project}/${env.environment}`] ?? "local",
    missing: (kind) => new BerthError("BERTH_INTERNAL", { detail: `no ${kind}` }),
  });
  assert.equal(engine.name, "memory+swarm");
  await engine.start();
  const staging = { project: "shop", environment: "staging", service: "web" };
  const production = { project: "shop", environment: "production", service: "web" };
  assert.equal((await run(engine, staging)).at(-1)?.step, "done");
  assert.equal(swarm.starts, 0, "nothing asked for swarm yet");
  assert.equal((await run(engine, production)).at(-1)?.step, "done");
  assert.equal(swarm.starts, 1);
  assert.deepEqual((await local.actual(staging)).map((s) => s.ref.service), ["web"]);
  assert.deepEqual(await local.actual(production), [], "production never ran on the local engine");
  assert.deepEqual((await swarmEngine.actual(production)).map((s) => s.ref.service), ["web"]);
  assert.deepEqual((await engine.actual(production)).map((s) => s.ref.environment), ["production"]);
  await engine.remove(production, new AbortController().signal);
  assert.deepEqual(await swarmEngine.actual(production), []);
  assert.equal(swarm.starts, 1, "started once");
  await engine.stop({ stopInstances: true });
});

test("an environment naming an engine this daemon does not have: apply ends failed with the reason, other calls throw it", async () => {
  const engine = new PerEnvironmentEngine({
    local: new MemoryEngine({ events: new RecordedEvents(), openEnv }),
    others: {},
    kindOf: () => "swarm",
    missing: (kind, env) => new BerthError("BERTH_ENGINE_UNAVAILABLE", { environment: `${env.project}/${env.environment}`, engine: kind, path: "engine", file: "berth.yaml", detail: "no Docker host" }),
  });
  await engine.start();
  const ref = { project: "shop", environment: "production", service: "web" };
  const events = await run(engine, ref);
  assert.equal(events.length, 1);
  assert.equal(events[0]!.step, "failed");
  assert.match(events[0]!.detail, /shop\/production asks for engine 'swarm' at engine in berth\.yaml, but no Docker host/);
  await assert.rejects(engine.actual(ref), /BERTH_ENGINE_UNAVAILABLE|asks for engine 'swarm'/);
  await engine.stop({ stopInstances: false });
});
