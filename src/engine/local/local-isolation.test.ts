import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { contractSpec, eventually, livenessGate, RecordedEvents } from "../contract/engine-contract.ts";
import { noTraffic, type ServiceRef } from "../engine.ts";
import { projectUserName } from "../../sandbox/isolation.ts";
import { LocalEngine } from "./local-engine.ts";
import { applyOrThrow, makeRelease, openTestEnv, startOf } from "./testing/test-apps.ts";

const rollout = { policy: { kind: "stop-first" } as const, health: livenessGate, traffic: noTraffic };
const isRoot = process.getuid?.() === 0;

describe("local engine isolation (root)", { skip: !isRoot && "needs root" }, () => {
  let root: string;
  let engine: LocalEngine;
  let events: RecordedEvents;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "berth-iso-"));
    events = new RecordedEvents();
    engine = new LocalEngine({ stateDir: join(root, "state"), events, openEnv: openTestEnv, portRange: { first: 34_000, last: 34_999 } });
    await engine.start();
  });
  after(async () => {
    await engine.stop({ stopInstances: true });
    rmSync(root, { recursive: true, force: true });
  });
  const lines = async (ref: ServiceRef): Promise<string[]> => {
    const out: string[] = [];
    for await (const l of engine.logs({ service: ref })) out.push(l.line);
    return out;
  };

  test("a service runs as its project's user and cannot read another project's release dir or disk", async () => {
    const b: ServiceRef = { project: "iso-b", environment: "production", service: "store" };
    const relB = makeRelease(root, b, 1);
    await applyOrThrow(engine, contractSpec(b, startOf("app.cjs"), { kind: "worker", listens: false, replicas: 1, disks: [{ name: "data", mountPath: "/srv/data" }] }), relB, rollout);
    const bDir = relB.artifact.kind === "dir" ? relB.artifact.path : "";
    const bDisk = join(root, "state", "disks", "iso-b", "production", "store", "data");

    const a: ServiceRef = { project: "iso-a", environment: "production", service: "snoop" };
    const relA = makeRelease(root, a, 1);
    await applyOrThrow(engine, contractSpec(a, startOf("snoop.cjs", `${bDir} ${bDisk} /srv/data .`), { kind: "worker", listens: false, replicas: 1 }), relA, rollout);
    const out = await eventually(async () => {
      const l = await lines(a);
      return l.some((x) => x.startsWith("READ .") || x.startsWith("DENIED .")) ? l : undefined;
    }, 5000, "snoop output");
    assert.ok(out.some((l) => l.startsWith(`DENIED ${bDir}`)), out.join("\n"));
    assert.ok(out.some((l) => l.startsWith(`DENIED ${bDisk}`)), out.join("\n"));
    assert.ok(out.some((l) => l.startsWith("DENIED /srv/data")), "another service's mount path is not there");
    assert.ok(out.includes("READ ."), "its own release dir is readable");
    const uidA = Number(out.find((l) => l.startsWith("uid "))!.slice(4));
    assert.notEqual(uidA, 0);
    // Outside the sandbox too, the files belong to the other project's user and are closed.
    const st = statSync(bDir);
    assert.notEqual(st.uid, uidA);
    assert.equal(st.mode & 0o077, 0);
    assert.equal(statSync(bDisk).mode & 0o077, 0);
    assert.equal(projectUserName("iso-a"), "berth-iso-a");
    await engine.remove(a, new AbortController().signal);
    await engine.remove(b, new AbortController().signal);
  });

  test("a memory limit kills an allocating instance and the engine reports OOM", async () => {
    const ref: ServiceRef = { project: "iso-hog", environment: "production", service: "hog" };
    const spec = contractSpec(ref, startOf("hog.cjs"), { kind: "worker", listens: false, replicas: 1, restart: { policy: "never" }, limits: { memoryBytes: 96 * 1024 * 1024 } });
    await applyOrThrow(engine, spec, makeRelease(root, ref, 1), rollout);
    const [inst] = (await engine.actual(ref))[0]!.instances;
    const oom = await eventually(() => events.of("instance:oom").find((e) => e.data.instance === inst!.id), 10_000, "instance:oom");
    assert.equal(oom.data.limitBytes, 96 * 1024 * 1024);
    const exited = events.of("instance:exited").find((e) => e.data.instance === inst!.id)!;
    assert.equal(exited.data.oom, true);
    const after = (await engine.actual(ref))[0]!.instances[0]!;
    assert.equal(after.state, "exited");
    assert.equal(after.lastExit?.oom, true);
    await engine.remove(ref, new AbortController().signal);
  });

  test("a CPU limit puts the instance in a cgroup with the matching quota", async () => {
    const ref: ServiceRef = { project: "iso-cpu", environment: "production", service: "slow" };
    const spec = contractSpec(ref, startOf("app.cjs"), { kind: "worker", listens: false, replicas: 1, limits: { cpuMillicores: 250, memoryBytes: 256 * 1024 * 1024 } });
    await applyOrThrow(engine, spec, makeRelease(root, ref, 1), rollout);
    const [inst] = (await engine.actual(ref))[0]!.instances;
    const cgroupOf = readFileSync(`/proc/${inst!.pid}/cgroup`, "utf8");
    if (existsSync("/sys/fs/cgroup/cgroup.controllers")) {
      assert.match(readFileSync(`/sys/fs/cgroup/berth/${inst!.id}/cpu.max`, "utf8"), /^25000 100000/);
    } else {
      assert.match(cgroupOf, new RegExp(`cpu[^\\n]*:/berth/${inst!.id}`));
      assert.equal(readFileSync(`/sys/fs/cgroup/cpu/berth/${inst!.id}/cpu.cfs_quota_us`, "utf8").trim(), "25000");
      assert.equal(readFileSync(`/sys/fs/cgroup/memory/berth/${inst!.id}/memory.limit_in_bytes`, "utf8").trim(), String(256 * 1024 * 1024));
    }
    await engine.remove(ref, new AbortController().signal);
    assert.equal(existsSync(`/sys/fs/cgroup/memory/berth/${inst!.id}`), false, "the cgroup is removed with the instance");
  });

  test("a task over its memory limit reports OOM", async () => {
    const ref: ServiceRef = { project: "iso-hog", environment: "production", service: "hogtask" };
    const spec = contractSpec(ref, startOf("hog.cjs"), { kind: "worker", listens: false, limits: { memoryBytes: 96 * 1024 * 1024 } });
    const res = await engine.runTask(
      { id: "run_hog", kind: "oneoff", service: spec, release: makeRelease(root, ref, 1), command: startOf("hog.cjs"), extraEnv: {}, timeoutMs: 20_000 },
      new AbortController().signal,
    );
    assert.equal(res.oom, true);
    assert.equal(res.timedOut, false);
  });
});
