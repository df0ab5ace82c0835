import assert from "node:assert/strict";
import { test } from "node:test";
import { BerthError } from "../../core/errors.ts";
import { type ContractFixture, contractSpec, eventually, livenessGate, RecordedEvents, contractRedact, runEngineContract } from "../contract/engine-contract.ts";
import type { Release, RolloutEvent, ServiceRef } from "../engine.ts";
import { MemoryEngine, RecordingTraffic } from "./memory-engine.ts";

/** Test releases carry their env as plain JSON; "BROKEN" stands for a sealed env that cannot be opened. */
const openEnv = async (release: Release): Promise<Record<string, string>> => {
  if (release.sealedEnv === "BROKEN") throw new BerthError("BERTH_INTERNAL", { detail: "cannot decrypt" });
  return JSON.parse(release.sealedEnv) as Record<string, string>;
};

function release(ref: ServiceRef, number: number, sealedEnv: string): Release {
  return { id: `rel_${ref.service}_${number}`, number, service: ref, artifact: { kind: "dir", path: "/nonexistent", digest: "d" }, sealedEnv };
}

function makeEngine(events = new RecordedEvents()): MemoryEngine {
  return new MemoryEngine({
    events,
    openEnv,
    redact: contractRedact,
    startBehaviour: (spec, _release, env, log) => {
      if (spec.start === "app crash") return "crash";
      log(`hello ${env.PORT ?? "worker"} ${env.GREETING ?? ""}`);
      return "run";
    },
    task: async (spec, { env, log, signal }) => {
      const [, verb, arg] = spec.command.split(" ");
      if (verb === "print-env") log(env[arg!] ?? "");
      if (verb === "exit") return { exitCode: Number(arg) };
      if (verb === "sleep") await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
      return { exitCode: 0 };
    },
  });
}

async function fixture(): Promise<ContractFixture> {
  const events = new RecordedEvents();
  const engine = makeEngine(events);
  await engine.start();
  return {
    engine,
    events,
    release: async (ref, number, greeting = "hi") => release(ref, number, JSON.stringify({ GREETING: greeting })),
    sealedRelease: async (ref, number) => release(ref, number, "BROKEN"),
    startCommand: (app) => `app ${app}`,
    taskCommand: (t) => (t.kind === "print-env" ? `task print-env ${t.name}` : t.kind === "exit" ? `task exit ${t.code}` : "task sleep"),
    kill: (ref, id) => engine.crash(ref, id),
    cleanup: () => engine.stop({ stopInstances: true }),
  };
}

runEngineContract("memory", fixture);

const ref: ServiceRef = { project: "p", environment: "production", service: "api" };

async function applyAll(engine: MemoryEngine, spec = contractSpec(ref, "app ok", { replicas: 1 }), rel = release(ref, 1, "{}"), traffic = new RecordingTraffic()): Promise<RolloutEvent[]> {
  const out: RolloutEvent[] = [];
  for await (const e of engine.apply(spec, rel, { policy: { kind: "start-first", maxSurge: 1 }, health: livenessGate, traffic: traffic.port }, new AbortController().signal)) out.push(e);
  return out;
}

test("memory: five crashes within ten minutes mark the instance crash-looping and say so", async () => {
  const events = new RecordedEvents();
  const engine = makeEngine(events);
  await engine.start();
  await applyAll(engine);
  const id = (await engine.actual(ref))[0]!.instances[0]!.id;
  for (let i = 0; i < 5; i++) await engine.crash(ref, id, { code: 1 });
  const inst = (await engine.actual(ref))[0]!.instances[0]!;
  assert.equal(inst.state, "crash-looping");
  assert.deepEqual(events.of("instance:restarting").map((e) => e.data.delayMs), [0, 1000, 2000, 4000, 8000]);
  assert.equal(events.of("instance:crash-looping").length, 1);
});

test("memory: on-failure stops restarting after maxRetries and reports it", async () => {
  const events = new RecordedEvents();
  const engine = makeEngine(events);
  await engine.start();
  await applyAll(engine, contractSpec(ref, "app ok", { replicas: 1, restart: { policy: "on-failure", maxRetries: 2 } }));
  const id = (await engine.actual(ref))[0]!.instances[0]!.id;
  await engine.crash(ref, id, { code: 2 });
  await engine.crash(ref, id, { code: 2 });
  await engine.crash(ref, id, { code: 2 });
  const inst = (await engine.actual(ref))[0]!.instances[0]!;
  assert.equal(inst.state, "exited");
  assert.equal(inst.restarts, 2);
  assert.match(events.of("instance:failed")[0]!.data.reason, /maxRetries 2/);
});

test("memory: a failing continued health check takes the instance out of rotation and restarts it", async () => {
  const engine = makeEngine();
  await engine.start();
  const traffic = new RecordingTraffic();
  await applyAll(engine, undefined, undefined, traffic);
  const id = (await engine.actual(ref))[0]!.instances[0]!.id;
  await engine.failHealth(ref, id, "HTTP 500");
  assert.ok(traffic.calls.includes(`remove p/production/api ${id}`));
  await eventually(() => traffic.inRotation.has(id), 2000, "back in rotation");
  assert.equal((await engine.actual(ref))[0]!.instances[0]!.restarts, 1);
});

test("memory: stop-first failure restarts the previous release", async () => {
  const engine = makeEngine();
  await engine.start();
  const spec = contractSpec(ref, "app ok", { replicas: 1, kind: "worker", listens: false });
  await applyAll(engine, spec);
  const out: RolloutEvent[] = [];
  const rollout = { policy: { kind: "stop-first" } as const, health: livenessGate, traffic: new RecordingTraffic().port };
  for await (const e of engine.apply({ ...spec, start: "app crash" }, release(ref, 2, "{}"), rollout, new AbortController().signal)) out.push(e);
  assert.equal(out.at(-1)?.step, "failed");
  assert.match(out.at(-1)!.detail, /release 1 restarted/);
  const svc = (await engine.actual(ref))[0]!;
  assert.equal(svc.instances.length, 1);
  assert.equal(svc.instances[0]!.releaseNumber, 1);
});

test("memory: runTask records the runs and apply refuses while stopped", async () => {
  const engine = makeEngine();
  await assert.rejects(async () => applyAll(engine), /not running/);
  await engine.start();
  const spec = contractSpec(ref, "app ok");
  await engine.runTask({ id: "run_1", kind: "preDeploy", service: spec, release: release(ref, 1, "{}"), command: "task exit 0", extraEnv: { X: "1" }, timeoutMs: 1000 }, new AbortController().signal);
  assert.equal(engine.tasks().length, 1);
  assert.equal(engine.tasks()[0]!.env.X, "1");
});
