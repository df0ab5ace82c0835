/**
 * Issue 15, "the router belongs to its data dir": a daemon killed with SIGKILL leaves its HAProxy
 * serving; the next start on the same state dir adopts that very process (same PID, slots read
 * back, no request lost) instead of starting a second router on the port; a router of another
 * state dir on a taken port fails at once naming the holder; stop() leaves nothing behind.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";
import type { BerthError } from "../core/errors.ts";
import type { BerthEvent, EventInput } from "../core/events.ts";
import { alive, mastersFor } from "./haproxy-pids.ts";
import { Router } from "./router.ts";
import { buildRouteTable } from "./routes.ts";
import { freePort, get, startBackend, type TestBackend } from "./test-helpers.ts";

const ref = { project: "shop", environment: "prod", service: "web" };
const table = buildRouteTable([{ ref, kind: "web", domains: ["shop.example.com"], pathPrefixes: [], health: { path: "/health", intervalMs: 200 } }]);

describe("a restarted daemon adopts its router", { timeout: 300_000 }, () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const routers: Router[] = [];
  let backend: TestBackend | undefined;
  after(async () => {
    for (const r of routers) await r.stop().catch(() => undefined);
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const d of dirs) for (const pid of mastersFor(join(d, "haproxy.cfg"))) process.kill(pid, "SIGKILL");
    await backend?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("SIGKILL, restart: same HAProxy PID, one master on the port, traffic never stops; a taken port is named", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "berth-adopt-"));
    dirs.push(stateDir);
    const port = await freePort();
    backend = await startBackend("web1");
    const child = spawn(process.execPath, [join(import.meta.dirname, "testing", "router-harness.ts"), stateDir, String(port), String(backend.port)], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    const line = (await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next()).value as string;
    const masterPid = Number(/^ready (\d+)$/.exec(line)?.[1]);
    assert.ok(masterPid > 0, line);
    assert.equal((await get(port, "shop.example.com", "/a")).body, "web1 /a");

    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    assert.ok(alive(masterPid), "HAProxy outlives the daemon that was killed");

    // Requests keep flowing across the restart and adoption.
    let failed = 0;
    let served = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const r = await get(port, "shop.example.com", "/load").catch(() => ({ status: 0, body: "" }));
        if (r.status === 200 && r.body === "web1 /load") served++;
        else failed++;
        await new Promise((res) => setTimeout(res, 10));
      }
    })();

    const events: BerthEvent[] = [];
    const sink = { emit: (e: EventInput) => events.push({ seq: events.length + 1, at: "", scope: {}, actor: "system", ...e } as BerthEvent) };
    const router = new Router({ stateDir, bindHost: "127.0.0.1", httpPort: port, healthTimeoutMs: 10_000, events: sink });
    routers.push(router);
    await router.start();
    assert.equal(router.haproxyPids.master, masterPid, "the very same master is adopted");
    const adopted = events.find((e) => e.type === "router:adopted")?.data as { slots: number } | undefined;
    assert.equal(adopted?.slots, 1, "its occupied slot is read back");
    // The reconciler's first refresh renders the real table (a seamless reload keeps the slot) ...
    await router.setRoutes(table);
    // ... and the level-based rotation names the instance that sits there.
    await router.converge(ref, [{ instanceId: "in_web1", endpoint: { host: "127.0.0.1", port: backend.port } }]);
    assert.equal((await get(port, "shop.example.com", "/b")).body, "web1 /b");
    await new Promise((r) => setTimeout(r, 300));
    loading = false;
    await load;
    assert.ok(served > 10, `served ${served}`);
    assert.equal(failed, 0, `${failed} requests failed across the restart`);
    assert.deepEqual(mastersFor(join(stateDir, "haproxy.cfg")), [masterPid], "one master for this data dir");

    // Another data dir's router on the same port: refused at once, the holder named.
    const otherDir = await mkdtemp(join(tmpdir(), "berth-adopt-other-"));
    dirs.push(otherDir);
    const other = new Router({ stateDir: otherDir, bindHost: "127.0.0.1", httpPort: port });
    await assert.rejects(other.start(), (e: BerthError) => {
      assert.equal(e.code, "BERTH_ROUTER_PORT_TAKEN");
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(e.message, /haproxy/);
      return true;
    });
    assert.deepEqual(mastersFor(join(otherDir, "haproxy.cfg")), [], "the refused router left nothing running");

    await router.stop();
    assert.ok(!alive(masterPid), "stop() stops the adopted master");
    assert.ok(!existsSync(join(stateDir, "haproxy.pid.json")));
    await rm(otherDir, { recursive: true, force: true });
  });

  test("a master of this data dir that no record accounts for is stopped, not doubled", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "berth-stray-"));
    dirs.push(stateDir);
    const port = await freePort();
    backend ??= await startBackend("web1");
    const child = spawn(process.execPath, [join(import.meta.dirname, "testing", "router-harness.ts"), stateDir, String(port), String(backend.port)], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    const line = (await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next()).value as string;
    const strayPid = Number(/^ready (\d+)$/.exec(line)?.[1]);
    // The daemon died before it wrote its record (simulated: the record is lost, then SIGKILL).
    rmSync(join(stateDir, "haproxy.pid.json"));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const router = new Router({ stateDir, bindHost: "127.0.0.1", httpPort: port });
    routers.push(router);
    await router.start();
    assert.ok(!alive(strayPid), "the unaccounted master was stopped");
    assert.notEqual(router.haproxyPids.master, strayPid);
    assert.deepEqual(mastersFor(join(stateDir, "haproxy.cfg")), [router.haproxyPids.master]);
    await router.stop();
    assert.deepEqual(mastersFor(join(stateDir, "haproxy.cfg")), []);
  });
});
