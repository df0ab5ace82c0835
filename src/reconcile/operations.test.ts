import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { systemClock } from "../core/clock.ts";
import { BerthError } from "../core/errors.ts";
import { defineOperation } from "../core/operations.ts";
import { EventBus } from "../observe/event-bus.ts";
import { openStore, type Store } from "../store/store.ts";
import { OperationRunner } from "./operations.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fixture(path?: string): { store: Store; bus: EventBus; path: string } {
  const p = path ?? join(mkdtempSync(join(tmpdir(), "berth-ops-")), "berth.db");
  if (!path) dirs.push(join(p, ".."));
  const store = openStore(p);
  return { store, bus: new EventBus({ repo: store.events, clock: systemClock }), path: p };
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const Params = z.object({ target: z.string(), n: z.number().default(0) });

/** A handler whose runs block until the test releases them, recording what ran. */
function gated(kind: string, resumable: boolean) {
  const gates = new Map<string, ReturnType<typeof deferred>>();
  const ran: { id: string; target: string; attempt: number }[] = [];
  const recovered: string[] = [];
  const gate = (target: string) => {
    const g = gates.get(target) ?? deferred();
    gates.set(target, g);
    return g;
  };
  const handler = defineOperation({
    kind,
    params: Params,
    resumable,
    scope: (p) => ({ key: `t:${p.target}`, project: "demo", environment: null }),
    async run(ctx) {
      ran.push({ id: ctx.id, target: ctx.params.target, attempt: ctx.attempt });
      ctx.progress("working", `on ${ctx.params.target}`, { done: 1, total: 2 });
      await Promise.race([
        gate(ctx.params.target).promise,
        new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true })),
      ]);
      if (ctx.params.target.startsWith("bad")) throw new BerthError("BERTH_BAD_REQUEST", { detail: "bad target" });
      return { did: ctx.params.target };
    },
    async recover(ctx) {
      recovered.push(ctx.id);
    },
  });
  return { handler, ran, recovered, release: (target: string) => gate(target).resolve(undefined) };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("the operation runner", () => {
  test("records, runs and finishes an operation with progress, result and events", async () => {
    const { store, bus } = fixture();
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const g = gated("job", true);
    runner.register(g.handler);
    await runner.start();
    const row = runner.enqueue("job", { target: "a" }, { actor: "alice" });
    assert.equal(row.state, "pending");
    assert.equal(row.createdBy, "alice");
    assert.deepEqual(row.params, { target: "a", n: 0 }, "params are stored as parsed");
    await settle();
    const running = store.operations.byId(row.id)!;
    assert.equal(running.state, "running");
    assert.equal(running.progress?.step, "working");
    assert.equal(running.progress?.total, 2);
    g.release("a");
    const done = await runner.wait(row.id);
    assert.equal(done.state, "succeeded");
    assert.deepEqual(done.result, { did: "a" });
    assert.equal(done.attempts, 1);
    assert.ok(done.finishedAt);
    const types = store.events.list({ limit: 100 }).filter((e) => e.type.startsWith("operation:")).map((e) => e.type);
    assert.deepEqual(types, ["operation:queued", "operation:started", "operation:progress", "operation:succeeded"]);
    const ev = store.events.list({ types: ["operation:succeeded"] })[0]!;
    assert.equal(ev.scope.project, "demo");
    assert.equal(ev.actor, "alice");
    await runner.stop();
    store.close();
  });

  test("runs one operation at a time per key, other keys side by side", async () => {
    const { store, bus } = fixture();
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const g = gated("job", true);
    runner.register(g.handler);
    await runner.start();
    const a1 = runner.enqueue("job", { target: "a", n: 1 }, { actor: "t" });
    const a2 = runner.enqueue("job", { target: "a", n: 2 }, { actor: "t" });
    const b = runner.enqueue("job", { target: "b" }, { actor: "t" });
    await settle();
    assert.deepEqual([a1, a2, b].map((r) => store.operations.byId(r.id)!.state), ["running", "pending", "running"]);
    g.release("a"); // releases every later run of "a" too
    await runner.wait(a1.id);
    await runner.wait(a2.id);
    assert.deepEqual(g.ran.filter((r) => r.target === "a").map((r) => r.id), [a1.id, a2.id], "in the order recorded");
    g.release("b");
    await runner.whenIdle();
    assert.equal(store.operations.byId(b.id)!.state, "succeeded");
    await runner.stop();
    store.close();
  });

  test("a failure records the catalogue code and message; invalid params are refused at enqueue", async () => {
    const { store, bus } = fixture();
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const g = gated("job", true);
    runner.register(g.handler);
    await runner.start();
    assert.throws(() => runner.enqueue("job", { target: 3 }, { actor: "t" }), (e: BerthError) => e.code === "BERTH_BAD_REQUEST" && /job\.target/.test(e.message));
    assert.equal(store.operations.list().length, 0, "nothing recorded for invalid params");
    const row = runner.enqueue("job", { target: "bad-1" }, { actor: "t" });
    g.release("bad-1");
    const done = await runner.wait(row.id);
    assert.equal(done.state, "failed");
    assert.equal(done.error?.code, "BERTH_BAD_REQUEST");
    assert.match(done.error?.message ?? "", /bad target/);
    assert.equal(store.events.list({ types: ["operation:failed"] }).length, 1);
    await runner.stop();
    store.close();
  });

  test("dedupe returns the pending (or unfinished) operation with the same params", async () => {
    const { store, bus } = fixture();
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const g = gated("job", true);
    runner.register(g.handler);
    await runner.start();
    const first = runner.enqueue("job", { target: "a" }, { actor: "t", dedupe: "pending" });
    await settle(); // now running
    const second = runner.enqueue("job", { target: "a" }, { actor: "t", dedupe: "pending" });
    assert.notEqual(second.id, first.id, "a running one is not a pending duplicate");
    assert.equal(runner.enqueue("job", { target: "a" }, { actor: "t", dedupe: "pending" }).id, second.id);
    assert.equal(runner.enqueue("job", { target: "a" }, { actor: "t", dedupe: "unfinished" }).id, first.id);
    g.release("a");
    await runner.whenIdle();
    await runner.stop();
    store.close();
  });

  test("cancel: a pending operation ends at once, a running one through its signal", async () => {
    const { store, bus } = fixture();
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const g = gated("job", false);
    runner.register(g.handler);
    await runner.start();
    const running = runner.enqueue("job", { target: "a", n: 1 }, { actor: "t" });
    const pending = runner.enqueue("job", { target: "a", n: 2 }, { actor: "t" });
    await settle();
    assert.equal(runner.cancel(pending.id, "bob").state, "cancelled");
    runner.cancel(running.id, "bob");
    const done = await runner.wait(running.id);
    assert.equal(done.state, "cancelled");
    assert.equal(done.error?.code, "BERTH_OPERATION_CANCELLED");
    assert.throws(() => runner.cancel(running.id, "bob"), (e: BerthError) => e.code === "BERTH_OPERATION_FINISHED");
    assert.deepEqual(g.ran.map((r) => r.id), [running.id], "the cancelled pending one never ran");
    await runner.stop();
    store.close();
  });

  test("a graceful stop requeues resumable operations and fails the others", async () => {
    const { store, bus } = fixture();
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const r = gated("resumable", true);
    const n = gated("once", false);
    runner.register(r.handler);
    runner.register(n.handler);
    await runner.start();
    const a = runner.enqueue("resumable", { target: "a" }, { actor: "t" });
    const b = runner.enqueue("once", { target: "b" }, { actor: "t" });
    await settle();
    await runner.stop();
    assert.equal(store.operations.byId(a.id)!.state, "pending");
    const failed = store.operations.byId(b.id)!;
    assert.equal(failed.state, "failed");
    assert.equal(failed.error?.code, "BERTH_OPERATION_INTERRUPTED");
    store.close();
  });
});

describe("recovery after a killed daemon", () => {
  /** Leaves operations `running` in a store as SIGKILL would: claimed, never finished. */
  function killedDaemonLeft(kinds: string[]): { path: string; ids: string[] } {
    const { store, path } = fixture();
    const ids = kinds.map((kind, i) => store.operations.create({ kind, key: `t:${i}`, project: "demo", environment: null, params: { target: `x${i}`, n: 0 }, createdBy: "t" }, new Date().toISOString()).id);
    for (const kind of kinds) assert.ok(store.operations.claimNext([kind], new Date().toISOString()));
    store.close();
    return { path, ids };
  }

  test("resumable operations run again from the start; the others are undone and failed cleanly", async () => {
    const { path, ids } = killedDaemonLeft(["resumable", "once", "gone"]);
    const { store, bus } = fixture(path);
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const r = gated("resumable", true);
    const n = gated("once", false);
    runner.register(r.handler);
    runner.register(n.handler);
    await runner.start();
    r.release("x0");
    const resumed = await runner.wait(ids[0]!);
    assert.equal(resumed.state, "succeeded");
    assert.equal(resumed.attempts, 2);
    assert.deepEqual(r.ran.map((x) => x.attempt), [2]);
    const once = store.operations.byId(ids[1]!)!;
    assert.equal(once.state, "failed");
    assert.equal(once.error?.code, "BERTH_OPERATION_INTERRUPTED");
    assert.match(once.error?.message ?? "", /undone/);
    assert.deepEqual(n.recovered, [ids[1]]);
    assert.equal(n.ran.length, 0, "a non-resumable operation is never run twice");
    assert.equal(store.operations.byId(ids[2]!)!.error?.code, "BERTH_OPERATION_UNKNOWN_KIND");
    assert.deepEqual(store.events.list({ types: ["operation:resumed"] }).map((e) => (e.data as { operation: string }).operation), [ids[0]]);
    await runner.stop();
    store.close();
  });

  test("a resumable operation that keeps getting interrupted fails after maxAttempts", async () => {
    const { path, ids } = killedDaemonLeft(["resumable"]);
    for (let i = 0; i < 2; i++) {
      const { store } = fixture(path);
      store.operations.requeue(ids[0]!, new Date().toISOString());
      assert.ok(store.operations.claimNext(["resumable"], new Date().toISOString()));
      store.close();
    }
    const { store, bus } = fixture(path);
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock, maxAttempts: 3 });
    runner.register(gated("resumable", true).handler);
    await runner.start();
    const row = store.operations.byId(ids[0]!)!;
    assert.equal(row.state, "failed");
    assert.match(row.error?.message ?? "", /3 times/);
    await runner.stop();
    store.close();
  });

  test("a row that does not parse fails loudly instead of flowing on as a wrong shape", () => {
    const { store } = fixture();
    const row = store.operations.create({ kind: "job", key: "k", project: null, environment: null, params: {}, createdBy: "t" }, new Date().toISOString());
    store.db.sql.prepare("UPDATE operations SET state = 'exploded' WHERE id = ?").run(row.id);
    assert.throws(() => store.operations.byId(row.id), /state/);
    store.close();
  });
  test("routine work: serialized with the rest, a success leaves one row and no events, a failure is loud", async () => {
    const { store, bus } = fixture();
    const runner = new OperationRunner({ repo: store.operations, events: bus, clock: systemClock });
    const g = gated("job", true);
    runner.register(g.handler);
    let routineRan = 0;
    runner.register(
      defineOperation({
        kind: "beat",
        params: Params,
        resumable: true,
        routine: true,
        scope: (p) => ({ key: `t:${p.target}`, project: "demo", environment: null }),
        async run(ctx) {
          routineRan++;
          if (ctx.params.n === 1) throw new BerthError("BERTH_BAD_REQUEST", { detail: "beat failed" });
          return { beat: routineRan };
        },
      }),
    );
    await runner.start();
    const job = runner.enqueue("job", { target: "a" }, { actor: "alice" });
    const beats = [1, 2, 3].map(() => runner.enqueue("beat", { target: "a" }, { actor: "system" }));
    await settle();
    assert.equal(routineRan, 0, "queued behind the job on the same key");
    g.release("a");
    await runner.wait(job.id);
    for (const b of beats) await runner.wait(b.id);
    assert.equal(routineRan, 3);
    const rows = store.operations.list({ kind: "beat" });
    assert.deepEqual(rows.map((r) => r.id), [beats[2]!.id], "only the newest success is kept");
    const failed = runner.enqueue("beat", { target: "a", n: 1 }, { actor: "system" });
    assert.equal((await runner.wait(failed.id)).state, "failed");
    const types = store.events.list({ limit: 100 }).filter((e) => (e.data as { kind?: string }).kind === "beat").map((e) => e.type);
    assert.deepEqual(types, ["operation:failed"]);
    await runner.stop();
    store.close();
  });
});
