import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { contractSpec, eventually, livenessGate, RecordedEvents } from "../contract/engine-contract.ts";
import { noTraffic, type ServiceRef } from "../engine.ts";
import { RecordingTraffic } from "../memory/memory-engine.ts";
import { LocalEngine } from "./local-engine.ts";
import { groupMembers } from "./proc.ts";
import { applyOrThrow, makeRelease, openTestEnv, startOf } from "./testing/test-apps.ts";

const rollout = { policy: { kind: "start-first", maxSurge: 2 } as const, health: livenessGate, traffic: noTraffic };

describe("local engine supervision", () => {
  let root: string;
  let engine: LocalEngine;
  let events: RecordedEvents;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "berth-sup-"));
    events = new RecordedEvents();
    engine = new LocalEngine({ stateDir: join(root, "state"), events, openEnv: openTestEnv, portRange: { first: 32_000, last: 32_999 } });
    await engine.start();
  });
  after(async () => {
    await engine.stop({ stopInstances: true });
    rmSync(root, { recursive: true, force: true });
  });
  const ref = (service: string): ServiceRef => ({ project: "sup", environment: "production", service });
  const instances = async (r: ServiceRef) => (await engine.actual(r)).find((s) => s.ref.service === r.service)?.instances ?? [];

  test("kill -9 of an instance: running again (new pid, same id) within 1 s", async () => {
    const r = ref("kill9");
    await applyOrThrow(engine, contractSpec(r, startOf("app.cjs"), { kind: "worker", listens: false, replicas: 1 }), makeRelease(root, r, 1), rollout);
    const [inst] = await instances(r);
    const killedAt = Date.now();
    process.kill(inst!.pid!, "SIGKILL");
    const started = await eventually(
      () => events.of("instance:started").find((e) => e.data.instance === inst!.id && e.data.pid !== inst!.pid),
      1000,
      "a restarted process within 1 s",
    );
    const restartMs = Date.now() - killedAt;
    assert.ok(restartMs <= 1000, `restarted after ${restartMs} ms`);
    assert.ok(existsSync(`/proc/${started.data.pid}`));
  });

  test("a crash loop backs off 0, 1, 2, 4, 8 s and reports crash-looping after 5 failures", { timeout: 40_000 }, async () => {
    const r = ref("crashy");
    const rel = makeRelease(root, r, 1, { CRASH_AFTER_MS: "400" });
    await applyOrThrow(engine, contractSpec(r, startOf("app.cjs"), { kind: "worker", listens: false, replicas: 1 }), rel, rollout);
    const [inst] = await instances(r);
    const looping = await eventually(() => events.of("instance:crash-looping").find((e) => e.data.instance === inst!.id), 30_000, "crash-looping");
    assert.equal(looping.data.failures, 5);
    const restarting = events.of("instance:restarting").filter((e) => e.data.instance === inst!.id);
    assert.deepEqual(restarting.map((e) => e.data.delayMs), [0, 1000, 2000, 4000, 8000]);
    assert.equal((await instances(r))[0]!.state, "crash-looping");
    // The waits really happen: each restart starts no sooner than its backoff after the exit.
    const mine = events.list.map((e, i) => ({ e, at: events.times[i]! })).filter(({ e }) => (e.data as { instance?: string }).instance === inst!.id);
    const gaps: number[] = [];
    for (const [i, { e, at }] of mine.entries()) {
      if (e.type !== "instance:restarting") continue;
      const next = mine.slice(i).find((x) => x.e.type === "instance:started");
      if (next) gaps.push(next.at - at);
    }
    assert.equal(gaps.length, 4, "four restarts happened before the fifth failure");
    for (const [k, gap] of gaps.entries()) assert.ok(gap >= restarting[k]!.data.delayMs - 20, `restart ${k + 1} came after ${gap} ms`);
    await engine.remove(r, new AbortController().signal);
  });

  test("stop leaves no process of the group in /proc, grandchildren that ignore SIGTERM included", async () => {
    const r = ref("forker");
    await applyOrThrow(engine, contractSpec(r, startOf("fork.cjs"), { kind: "worker", listens: false, replicas: 1, shutdownDelayMs: 300 }), makeRelease(root, r, 1), rollout);
    const [inst] = await instances(r);
    const members = await eventually(() => {
      const m = groupMembers(inst!.pid!);
      return m.length >= 2 ? m : undefined;
    }, 3000, "the grandchild");
    await engine.remove(r, new AbortController().signal);
    assert.deepEqual(groupMembers(inst!.pid!), []);
    // Exited members the daemon does not own (re-parented to init) vanish once init reaps them.
    await eventually(() => members.every((pid) => !existsSync(`/proc/${pid}/stat`)), 2000, `no member of ${members} left in /proc`);
    assert.deepEqual(await instances(r), []);
  });

  test("after deploy a failing health check takes the instance out of rotation and restarts it", async () => {
    const r = ref("sickly");
    const rel = makeRelease(root, r, 1);
    const sickFile = join(rel.artifact.kind === "dir" ? rel.artifact.path : "", "sick");
    const traffic = new RecordingTraffic();
    const health = { ...contractSpec(r, "").health, path: "/health", intervalMs: 100, unhealthyThreshold: 2 };
    await applyOrThrow(
      engine,
      contractSpec(r, startOf("app.cjs"), { replicas: 1, health, shutdownDelayMs: 500 }),
      { ...rel, sealedEnv: JSON.stringify({ HEALTH_FILE: sickFile }) },
      { ...rollout, traffic: traffic.port },
    );
    const [inst] = await instances(r);
    assert.ok(traffic.inRotation.has(inst!.id));
    writeFileSync(sickFile, "1");
    await eventually(() => events.of("instance:unhealthy").some((e) => e.data.instance === inst!.id), 5000, "unhealthy");
    rmSync(sickFile);
    assert.ok(traffic.calls.includes(`remove sup/production/sickly ${inst!.id}`));
    const back = await eventually(async () => {
      const i = (await instances(r))[0];
      return i && i.restarts === 1 && i.state === "healthy" && traffic.inRotation.has(inst!.id) ? i : undefined;
    }, 5000, "restarted and back in rotation");
    assert.notEqual(back.pid, inst!.pid);
    await engine.remove(r, new AbortController().signal);
  });

  test("a disk keeps its files across redeploys and is named by BERTH_DISK_<NAME>", async () => {
    const r = ref("disky");
    const disks = [{ name: "data", mountPath: "/var/data" }];
    const spec = contractSpec(r, startOf("app.cjs"), { kind: "worker", listens: false, replicas: 1, disks, shutdownDelayMs: 500 });
    const rel1 = makeRelease(root, r, 1);
    await applyOrThrow(engine, spec, rel1, { ...rollout, policy: { kind: "stop-first" } });
    const task = (release: typeof rel1, command: string) => {
      const lines: string[] = [];
      return engine
        .runTask({ id: `run_${Math.random().toString(36).slice(2)}`, kind: "oneoff", service: spec, release, command, extraEnv: {}, timeoutMs: 10_000, onLog: (l) => lines.push(l.line) }, new AbortController().signal)
        .then((res) => ({ res, lines }));
    };
    const w = await task(rel1, 'echo kept > "$BERTH_DISK_DATA/file"; echo "$BERTH_DISK_DATA"');
    assert.equal(w.res.exitCode, 0);
    if (engine.sandboxed) assert.deepEqual(w.lines, ["/var/data"]);
    const rel2 = makeRelease(root, r, 2);
    await applyOrThrow(engine, spec, rel2, { ...rollout, policy: { kind: "stop-first" } });
    const read = await task(rel2, 'cat "$BERTH_DISK_DATA/file"');
    assert.deepEqual(read.lines, ["kept"]);
    await engine.remove(r, new AbortController().signal);
  });

  test("adopted instances keep logging; unsandboxed engines say so once", async () => {
    const stateDir = join(root, "state-adopt");
    const ev1 = new RecordedEvents();
    const first = new LocalEngine({ stateDir, events: ev1, openEnv: openTestEnv, sandbox: false, portRange: { first: 32_500, last: 32_599 } });
    await first.start();
    await first.start();
    assert.equal(ev1.of("engine:warning").length, 1);
    const r = ref("adopted");
    await applyOrThrow(first, contractSpec(r, startOf("app.cjs"), { kind: "worker", listens: false, replicas: 1 }), makeRelease(root, r, 1, { GREETING: "first" }), rollout);
    await first.stop({ stopInstances: false });
    const second = new LocalEngine({ stateDir, events: new RecordedEvents(), openEnv: openTestEnv, sandbox: false, portRange: { first: 32_500, last: 32_599 } });
    await second.start();
    const [inst] = (await second.actual(r))[0]!.instances;
    assert.equal(inst!.state, "healthy");
    await second.remove(r, new AbortController().signal);
    const lines = await eventually(async () => {
      const out: string[] = [];
      for await (const l of second.logs({ service: r })) out.push(l.line);
      return out.includes("bye") ? out : undefined;
    }, 3000, "the adopted instance's last words");
    assert.ok(lines.includes("hello worker first"));
    await second.stop({ stopInstances: true });
  });

  test("an image artifact is refused with a failed rollout, not a throw", async () => {
    const r = ref("imaged");
    const rel = { ...makeRelease(root, r, 1), artifact: { kind: "image" as const, image: "x:1", digest: "sha256:x" } };
    const out = [];
    for await (const e of engine.apply(contractSpec(r, "x"), rel, rollout, new AbortController().signal)) out.push(e);
    assert.equal(out.at(-1)?.step, "failed");
    assert.match(out.at(-1)!.detail, /cannot run a 'image' artifact/);
  });
});
