/**
 * Issue 17, acceptance: a fork bomb and an unbounded allocation in a service are stopped by the
 * default limits (no `limits` in the blueprint), each with an event naming the limit, and the
 * host stays responsive: another service keeps answering throughout (measured: failures and the
 * slowest answer while the bomb and the allocation run). Real local engine as root: cgroup v1/v2
 * pids.max and memory limits, bubblewrap, project users.
 *
 * BERTH_S17_PIDS sets an explicit process limit instead of the default (a small-scale rehearsal).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DEFAULT_INSTANCE_LIMITS } from "../../src/core/limits.ts";
import type { BerthEvent } from "../../src/core/events.ts";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const ROOT = process.getuid?.() === 0;
const P = "s17limits";
const PIDS = process.env.BERTH_S17_PIDS ? Number(process.env.BERTH_S17_PIDS) : undefined;

const limits = PIDS ? `\n    limits: { pids: ${PIDS} }` : "";
const blueprint = `version: 1
project: ${P}
services:
  steady:
    type: web
    start: node steady.js
    health: /health
  bomb:
    type: worker
    restart: never
    health: { grace: 1s }
    # Waits for its deploy gate, then forks without end.
    start: sleep 2; bomb() { bomb | bomb & }; bomb; sleep 600${limits}
  hog:
    type: worker
    restart: never
    health: { grace: 1s }
    start: node hog.js
`;

const STEADY = `require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "steady")).listen(Number(process.env.PORT), "127.0.0.1");\n`;
// 64 MiB more every 50 ms, touched so it is really resident; no limit of its own.
const HOG = `setTimeout(() => { const keep = []; setInterval(() => keep.push(Buffer.alloc(64 * 1024 * 1024, 1)), 50); }, 2000);\n`;

describe("default limits stop a fork bomb and an unbounded allocation", { skip: !ROOT && "needs root (cgroups)" }, () => {
  let t: TestDaemon;
  const events: BerthEvent[] = [];
  let steadyPort = 0;
  const probe: { ok: number; failed: number; slowestMs: number; running: boolean } = { ok: 0, failed: 0, slowestMs: 0, running: true };
  let prober: Promise<void> | undefined;

  before(async () => {
    const stateDir = tempDir("berth-s17-limits-");
    t = await startTestDaemon({
      health: httpHealthGate,
      engine: ({ bus, openEnv, redact, loopback }) => new LocalEngine({ stateDir, events: bus, openEnv, redact, limitPollMs: 250, ...(loopback ? { loopback } : {}) }),
    });
    t.daemon.bus.subscribe((e) => {
      if (e.scope.project === P) events.push(e);
    });
    const dir = writeProject(join(tempDir(), P), blueprint, { "steady.js": STEADY, "hog.js": HOG });
    const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint, sourceDir: dir });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    // Probe the steady service from the moment it answers, all through the test.
    const deadline = Date.now() + 60_000;
    while (!steadyPort && Date.now() < deadline) {
      const env = (await t.request("GET", `/v1/projects/${P}/environments/production`)).json as { services: { name: string; instances: { state: string; port: number | null }[] }[] };
      steadyPort = env.services.find((s) => s.name === "steady")?.instances.find((i) => i.state === "healthy")?.port ?? 0;
      if (!steadyPort) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(steadyPort, "steady never became healthy");
    prober = (async () => {
      while (probe.running) {
        const t0 = performance.now();
        try {
          const body = await (await fetch(`http://127.0.0.1:${steadyPort}/`, { signal: AbortSignal.timeout(2000) })).text();
          if (body === "steady") probe.ok++;
          else probe.failed++;
        } catch {
          probe.failed++;
        }
        probe.slowestMs = Math.max(probe.slowestMs, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await t.daemon.reconciler.whenIdle();
  });
  after(async () => {
    probe.running = false;
    await prober;
    await t?.close();
  });

  const waitFor = async (pred: (e: BerthEvent) => boolean, ms: number): Promise<BerthEvent> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const e = events.find(pred);
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`no such event in ${ms} ms; saw ${events.map((x) => x.type).join(", ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  test("the fork bomb reaches pids.max and is stopped, with an event naming the limit", async (tc) => {
    const started = await waitFor((e) => e.type === "instance:started" && e.scope.service === "bomb", 30_000);
    const limit = await waitFor((e) => e.type === "instance:limit-exceeded" && e.scope.service === "bomb", 30_000);
    const data = limit.data as { limit: string; max: number; detail: string };
    assert.equal(data.limit, "pids");
    assert.equal(data.max, PIDS ?? DEFAULT_INSTANCE_LIMITS.pids);
    await waitFor((e) => e.type === "instance:exited" && e.scope.service === "bomb", 15_000);
    tc.diagnostic(`bomb: limit event ${Date.parse(limit.at) - Date.parse(started.at)} ms after start (2 s of it sleeping): ${data.detail}`);
  });

  test("the allocation is OOM-killed at the default memory limit, with an event naming it", async (tc) => {
    const started = await waitFor((e) => e.type === "instance:started" && e.scope.service === "hog", 30_000);
    const limit = await waitFor((e) => e.type === "instance:limit-exceeded" && e.scope.service === "hog", 30_000);
    const data = limit.data as { limit: string; max: number; detail: string };
    assert.equal(data.limit, "memory");
    assert.equal(data.max, DEFAULT_INSTANCE_LIMITS.memoryBytes);
    assert.ok(events.some((e) => e.type === "instance:oom" && e.scope.service === "hog"));
    tc.diagnostic(`hog: killed ${Date.parse(limit.at) - Date.parse(started.at)} ms after start (2 s of it idle): ${data.detail}`);
  });

  test("the other service kept answering the whole time", async (tc) => {
    // Let the probe run a little past both incidents.
    await new Promise((r) => setTimeout(r, 2000));
    tc.diagnostic(`steady: ${probe.ok} answers, ${probe.failed} failures, slowest ${Math.round(probe.slowestMs)} ms`);
    assert.equal(probe.failed, 0);
    assert.ok(probe.ok >= 20, `only ${probe.ok} answers`);
    assert.ok(probe.slowestMs < 2000, `slowest answer ${probe.slowestMs} ms`);
    // Nothing of the bomb is left running: the engine's view, and the kernel's (its cgroup is gone or empty).
    const actual = await t.daemon.engine.actual({ project: P, environment: "production" });
    const bomb = actual.find((s) => s.ref.service === "bomb")!;
    assert.ok(bomb.instances.every((i) => i.state === "exited"), JSON.stringify(bomb.instances));
    for (const i of bomb.instances) {
      for (const dir of [`/sys/fs/cgroup/pids/berth/${i.id}`, `/sys/fs/cgroup/berth/${i.id}`]) {
        const procs = existsSync(`${dir}/cgroup.procs`) ? readFileSync(`${dir}/cgroup.procs`, "utf8").trim() : "";
        assert.equal(procs, "", `${dir} still holds processes`);
      }
    }
  });
});

describe("builds run under limits too", { skip: !ROOT && "needs root (cgroups)" }, () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon();
  });
  after(() => t?.close());

  const deployFailure = async (project: string, build: string): Promise<string> => {
    const bp = `version: 1\nproject: ${project}\nservices:\n  web:\n    type: web\n    start: node s.js\n    build: ${build}\n`;
    const dir = writeProject(join(tempDir(), project), bp, { "s.js": "" });
    const seq = t.daemon.store.events.lastSeq();
    assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: bp, sourceDir: dir })).status, 202);
    await t.daemon.reconciler.whenIdle();
    const failed = t.daemon.store.events.list({ afterSeq: seq, types: ["deploy:failed"] });
    return (failed.at(-1)?.data as { reason?: string } | undefined)?.reason ?? "no deploy:failed event";
  };

  test("a fork bomb in a build command fails the build naming the process limit", async () => {
    assert.match(await deployFailure("s17buildbomb", "'bomb() { bomb | bomb & }; bomb; sleep 60'"), /reached its pids limit \(1024 processes\)/);
  });

  test("a build past its timeout fails naming the timeout", async () => {
    assert.match(await deployFailure("s17buildslow", "{ command: 'sleep 30', timeout: 2s }"), /reached its timeout limit \(2 s\)/);
  });
});
