/**
 * The Engine contract: behaviour every engine must show, run against each implementation from
 * its own test file (`runEngineContract("memory", makeFixture)`). Only the seam is used here;
 * engine-specific knowledge lives in the fixture.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ActualService, Engine, Release, Rollout, RolloutEvent, ServiceRef, ServiceSpec, TaskSpec } from "../engine.ts";
import { noTraffic } from "../engine.ts";
import { CONTRACT_SECRET, type ContractFixture, contractSpec, eventually, livenessGate } from "./contract-fixture.ts";

export * from "./contract-fixture.ts";

/** Records the order of traffic changes. */
class Traffic {
  readonly calls: string[] = [];
  readonly inRotation = new Set<string>();
  readonly port = {
    add: async (_s: ServiceRef, id: string) => {
      this.calls.push(`add ${id}`);
      this.inRotation.add(id);
    },
    remove: async (_s: ServiceRef, id: string) => {
      this.calls.push(`remove ${id}`);
      this.inRotation.delete(id);
    },
  };
}

async function drain(it: AsyncIterable<RolloutEvent>): Promise<RolloutEvent[]> {
  const out: RolloutEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function service(engine: Engine, ref: ServiceRef): Promise<ActualService | undefined> {
  return (await engine.actual(ref)).find((s) => s.ref.service === ref.service);
}

async function apply(
  fx: ContractFixture,
  spec: ServiceSpec,
  release: Release,
  rollout: { readonly policy?: Rollout["policy"]; readonly traffic?: Traffic } = {},
): Promise<RolloutEvent[]> {
  const r: Rollout = {
    policy: rollout.policy ?? { kind: "start-first", maxSurge: 2 },
    health: fx.health ?? livenessGate,
    traffic: rollout.traffic ? rollout.traffic.port : noTraffic,
  };
  return drain(fx.engine.apply(spec, release, r, new AbortController().signal));
}

let counter = 0;
function freshRef(): ServiceRef {
  counter++;
  return { project: `proj${counter}`, environment: "production", service: `svc${counter}` };
}

/** Registers the contract tests for one engine. `make` builds a fresh, started fixture. */
export function runEngineContract(name: string, make: () => Promise<ContractFixture>): void {
  const withFx = (title: string, fn: (fx: ContractFixture) => Promise<void>): void => {
    test(title, async () => {
      const fx = await make();
      try {
        await fn(fx);
      } finally {
        await fx.cleanup();
      }
    });
  };

  describe(`engine contract: ${name}`, () => {
    withFx("apply starts the replicas, gates them, puts them in rotation and reports done", async (fx) => {
      const ref = freshRef();
      const traffic = new Traffic();
      const events = await apply(fx, contractSpec(ref, fx.startCommand("ok")), await fx.release(ref, 1), { traffic });
      assert.equal(events.at(-1)?.step, "done", JSON.stringify(events));
      const svc = await service(fx.engine, ref);
      assert.equal(svc?.instances.length, 2);
      for (const i of svc!.instances) {
        assert.equal(i.state, "healthy");
        assert.equal(i.releaseNumber, 1);
        assert.ok(i.endpoint && i.endpoint.port > 0);
        assert.ok(traffic.inRotation.has(i.id));
      }
      assert.notEqual(svc!.instances[0]!.endpoint!.port, svc!.instances[1]!.endpoint!.port);
    });

    withFx("applying what already runs is a no-op; a changed replica count only scales", async (fx) => {
      const ref = freshRef();
      const release = await fx.release(ref, 1);
      const spec = contractSpec(ref, fx.startCommand("ok"), { kind: "worker", listens: false });
      await apply(fx, spec, release);
      const before = (await service(fx.engine, ref))!.instances.map((i) => i.id).sort();
      const again = await apply(fx, spec, release);
      assert.deepEqual(again.map((e) => e.step), ["done"]);
      assert.deepEqual((await service(fx.engine, ref))!.instances.map((i) => i.id).sort(), before);
      await apply(fx, { ...spec, replicas: 3 }, release);
      const up = (await service(fx.engine, ref))!.instances.map((i) => i.id);
      assert.equal(up.length, 3);
      for (const id of before) assert.ok(up.includes(id), "scaling up keeps the running instances");
      await apply(fx, { ...spec, replicas: 1 }, release);
      assert.equal((await service(fx.engine, ref))!.instances.length, 1);
      for (const i of (await service(fx.engine, ref))!.instances) assert.equal(i.endpoint, undefined, "workers get no port");
    });

    withFx("start-first: new instances take traffic before the old ones leave", async (fx) => {
      const ref = freshRef();
      const traffic = new Traffic();
      const spec = contractSpec(ref, fx.startCommand("ok"));
      await apply(fx, spec, await fx.release(ref, 1), { traffic });
      const old = (await service(fx.engine, ref))!.instances.map((i) => i.id);
      const events = await apply(fx, spec, await fx.release(ref, 2), { traffic });
      assert.equal(events.at(-1)?.step, "done", JSON.stringify(events));
      const svc = (await service(fx.engine, ref))!;
      assert.equal(svc.instances.length, 2);
      assert.ok(svc.instances.every((i) => i.releaseNumber === 2 && !old.includes(i.id)));
      const lastAdd = Math.max(...svc.instances.map((i) => traffic.calls.indexOf(`add ${i.id}`)));
      const firstRemove = Math.min(...old.map((id) => traffic.calls.indexOf(`remove ${id}`)));
      assert.ok(lastAdd < firstRemove, traffic.calls.join(", "));
      assert.deepEqual([...traffic.inRotation].sort(), svc.instances.map((i) => i.id).sort());
    });

    withFx("a failed gate stops the new instances and leaves the old release serving", async (fx) => {
      const ref = freshRef();
      const traffic = new Traffic();
      const spec = contractSpec(ref, fx.startCommand("ok"));
      await apply(fx, spec, await fx.release(ref, 1), { traffic });
      const old = (await service(fx.engine, ref))!.instances.map((i) => i.id).sort();
      const events = await apply(fx, { ...spec, start: fx.startCommand("crash") }, await fx.release(ref, 2), { traffic });
      assert.equal(events.at(-1)?.step, "failed");
      assert.match(events.at(-1)!.detail, /health/);
      const svc = (await service(fx.engine, ref))!;
      assert.deepEqual(svc.instances.map((i) => i.id).sort(), old);
      assert.equal(svc.releaseId.length > 0, true);
      assert.ok(svc.instances.every((i) => i.releaseNumber === 1 && i.state === "healthy"));
      assert.deepEqual([...traffic.inRotation].sort(), old);
    });

    withFx("a singleton is never two: the old one stops before the new one starts", async (fx) => {
      const ref = freshRef();
      const traffic = new Traffic();
      const spec = contractSpec(ref, fx.startCommand("ok"), { singleton: true, replicas: 3, kind: "worker", listens: false });
      await apply(fx, spec, await fx.release(ref, 1), { traffic });
      assert.equal((await service(fx.engine, ref))!.instances.length, 1);
      const first = (await service(fx.engine, ref))!.instances[0]!.id;
      const mark = fx.events.list.length;
      await apply(fx, spec, await fx.release(ref, 2), { traffic, policy: { kind: "start-first", maxSurge: 1 } });
      const after = fx.events.list.slice(mark).filter((e) => e.type === "instance:stopped" || e.type === "instance:started");
      assert.equal(after[0]?.type, "instance:stopped", "the old singleton stops first");
      assert.equal((after[0]!.data as { instance: string }).instance, first);
      const svc = (await service(fx.engine, ref))!;
      assert.equal(svc.instances.length, 1);
      assert.equal(svc.instances[0]!.releaseNumber, 2);
    });

    withFx("a killed instance is restarted and comes back into rotation", async (fx) => {
      const ref = freshRef();
      const traffic = new Traffic();
      await apply(fx, contractSpec(ref, fx.startCommand("ok"), { replicas: 1 }), await fx.release(ref, 1), { traffic });
      const inst = (await service(fx.engine, ref))!.instances[0]!;
      await fx.kill(ref, inst.id);
      const back = await eventually(async () => {
        const i = (await service(fx.engine, ref))?.instances.find((x) => x.id === inst.id);
        return i && i.restarts === 1 && i.state === "healthy" && traffic.inRotation.has(inst.id) ? i : undefined;
      }, 5000, "restart");
      assert.ok(back.lastExit === undefined || back.lastExit.signal === "SIGKILL");
      assert.ok(traffic.calls.includes(`remove ${inst.id}`), "taken out of rotation while down");
      assert.ok(fx.events.of("instance:restarting").some((e) => e.data.instance === inst.id));
    });

    withFx("restart policy never: a killed instance stays exited and the engine says so", async (fx) => {
      const ref = freshRef();
      const spec = contractSpec(ref, fx.startCommand("ok"), { replicas: 1, kind: "worker", listens: false, restart: { policy: "never" } });
      await apply(fx, spec, await fx.release(ref, 1));
      const inst = (await service(fx.engine, ref))!.instances[0]!;
      await fx.kill(ref, inst.id);
      const gone = await eventually(async () => (await service(fx.engine, ref))?.instances.find((x) => x.id === inst.id && x.state === "exited"), 5000, "exit");
      assert.equal(gone.restarts, 0);
      assert.equal(gone.lastExit?.signal, "SIGKILL");
      await eventually(() => fx.events.of("instance:failed").some((e) => e.data.instance === inst.id), 2000, "instance:failed");
    });

    withFx("instance output is in logs(), filterable by grep", async (fx) => {
      const ref = freshRef();
      await apply(fx, contractSpec(ref, fx.startCommand("ok"), { replicas: 1 }), await fx.release(ref, 1, "bonjour"));
      const lines = await eventually(async () => {
        const out = [];
        for await (const l of fx.engine.logs({ service: ref, grep: "bonjour" })) out.push(l);
        return out.length > 0 ? out : undefined;
      }, 5000, "log line");
      assert.match(lines[0]!.line, /hello .*bonjour/);
      assert.equal(lines[0]!.stream, "stdout");
      assert.ok(!Number.isNaN(Date.parse(lines[0]!.at)));
      const none = [];
      for await (const l of fx.engine.logs({ service: ref, grep: "no-such-text" })) none.push(l);
      assert.equal(none.length, 0);
    });

    withFx("secret values are redacted from instance and task output before any sink", async (fx) => {
      const ref = freshRef();
      const release = await fx.release(ref, 1, CONTRACT_SECRET);
      const spec = contractSpec(ref, fx.startCommand("ok"), { replicas: 1, kind: "worker", listens: false });
      await apply(fx, spec, release);
      const onLog: string[] = [];
      await fx.engine.runTask(
        { id: "run_secret", kind: "oneoff", service: spec, release, command: fx.taskCommand({ kind: "print-env", name: "GREETING" }), extraEnv: {}, timeoutMs: 10_000, onLog: (l) => onLog.push(l.line) },
        new AbortController().signal,
      );
      assert.deepEqual(onLog, ["[redacted]"]);
      const lines = await eventually(async () => {
        const out: string[] = [];
        for await (const l of fx.engine.logs({ service: ref })) out.push(l.line);
        return out.some((l) => l.startsWith("hello")) ? out : undefined;
      }, 5000, "instance output");
      assert.ok(lines.includes("hello worker [redacted]"), lines.join("|"));
      assert.ok(!lines.some((l) => l.includes(CONTRACT_SECRET)));
    });

    withFx("logs() follows new lines until aborted", async (fx) => {
      const ref = freshRef();
      const ctl = new AbortController();
      const seen: string[] = [];
      const reading = (async () => {
        for await (const l of fx.engine.logs({ service: ref, follow: true, signal: ctl.signal })) seen.push(l.line);
      })();
      await apply(fx, contractSpec(ref, fx.startCommand("ok"), { replicas: 1, kind: "worker", listens: false }), await fx.release(ref, 1, "followed"));
      await eventually(() => seen.some((l) => l.includes("followed")), 5000, "followed line");
      ctl.abort();
      await reading;
    });

    withFx("runTask runs with the release env plus extraEnv and reports the exit code and output", async (fx) => {
      const ref = freshRef();
      const release = await fx.release(ref, 1, "from-release");
      const spec = contractSpec(ref, fx.startCommand("ok"));
      const lines: string[] = [];
      const task = (command: string, id: string): TaskSpec => ({
        id, kind: "oneoff", service: spec, release, command, extraEnv: { BERTH_RUN_ID: id }, timeoutMs: 10_000, onLog: (l) => lines.push(l.line),
      });
      const a = await fx.engine.runTask(task(fx.taskCommand({ kind: "print-env", name: "GREETING" }), "run_a"), new AbortController().signal);
      assert.equal(a.exitCode, 0);
      assert.equal(a.timedOut, false);
      assert.ok(lines.includes("from-release"), lines.join("|"));
      await fx.engine.runTask(task(fx.taskCommand({ kind: "print-env", name: "BERTH_RUN_ID" }), "run_b"), new AbortController().signal);
      assert.ok(lines.includes("run_b"));
      const c = await fx.engine.runTask(task(fx.taskCommand({ kind: "exit", code: 3 }), "run_c"), new AbortController().signal);
      assert.equal(c.exitCode, 3);
      const logged = [];
      for await (const l of fx.engine.logs({ service: ref, instance: "run_a" })) logged.push(l.line);
      assert.ok(logged.includes("from-release"));
    });

    withFx("runTask kills a task past its timeout", async (fx) => {
      const ref = freshRef();
      const release = await fx.release(ref, 1);
      const spec = contractSpec(ref, fx.startCommand("ok"));
      const r = await fx.engine.runTask(
        { id: "run_slow", kind: "cron", service: spec, release, command: fx.taskCommand({ kind: "sleep" }), extraEnv: {}, timeoutMs: 300 },
        new AbortController().signal,
      );
      assert.equal(r.timedOut, true);
      assert.notEqual(r.exitCode, 0);
    });

    withFx("a release whose env cannot be opened fails the apply and starts nothing", async (fx) => {
      const ref = freshRef();
      const events = await apply(fx, contractSpec(ref, fx.startCommand("ok")), await fx.sealedRelease(ref, 1));
      assert.equal(events.at(-1)?.step, "failed");
      assert.equal((await service(fx.engine, ref))?.instances.length ?? 0, 0);
    });

    withFx("remove stops every instance and forgets the service", async (fx) => {
      const ref = freshRef();
      const traffic = new Traffic();
      await apply(fx, contractSpec(ref, fx.startCommand("ok")), await fx.release(ref, 1), { traffic });
      await fx.engine.remove(ref, new AbortController().signal);
      assert.equal(await service(fx.engine, ref), undefined);
      assert.equal(traffic.inRotation.size, 0);
      assert.equal(fx.events.of("instance:stopped").length, 2);
    });

    withFx("stop without stopping instances, then start, adopts the same instances", async (fx) => {
      const ref = freshRef();
      await apply(fx, contractSpec(ref, fx.startCommand("ok"), { kind: "worker", listens: false }), await fx.release(ref, 1));
      const before = (await service(fx.engine, ref))!.instances.map((i) => `${i.id}:${i.pid}`).sort();
      await fx.engine.stop({ stopInstances: false });
      await fx.engine.start();
      const after = (await service(fx.engine, ref))!.instances;
      assert.deepEqual(after.map((i) => `${i.id}:${i.pid}`).sort(), before);
      assert.equal(fx.events.of("instance:adopted").length, 2);
    });

    withFx("stats reports a running instance and nothing for an unknown one", async (fx) => {
      const ref = freshRef();
      await apply(fx, contractSpec(ref, fx.startCommand("ok"), { replicas: 1 }), await fx.release(ref, 1));
      const inst = (await service(fx.engine, ref))!.instances[0]!;
      const s = await fx.engine.stats(ref, inst.id);
      assert.ok(s && s.rssBytes > 0 && s.uptimeMs >= 0);
      assert.equal(await fx.engine.stats(ref, "in_nope"), undefined);
    });
  });
}
