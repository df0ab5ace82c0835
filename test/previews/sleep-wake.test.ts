/**
 * Issue 19, deliverable 5: sleep when idle, wake on the first request — through the compiled CLI
 * and daemon (`bin/berth up --detach`), the local engine and a real HAProxy on a free port.
 * A web service with `sleepAfter: 3s` goes to sleep (its processes are gone, `berth status`
 * says asleep, `berth events` shows `service:asleep`); a request through the router wakes it
 * and is answered 200 by the new instance; the asleep state survives a daemon restart (nothing
 * is started again until a request comes).
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run, type CliRun, freePort, scratch, stopScratchDaemon } from "../helpers/cli.ts";

const marker = `berth-sleepy-${process.pid}-${Date.now()}`;
const BLUEPRINT = `version: 1
project: sleepy
services:
  web:
    type: web
    start: node server.js
    health: { path: /health, interval: 1s }
    sleepAfter: 3s
    env:
      SLEEPY_MARKER: ${marker}
`;
const SERVER = `require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "awake " + process.pid)).listen(process.env.PORT);\n`;

/** Processes whose environment carries the marker (the service's instances). */
function instances(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "utf8").split("\0").includes(`SLEEPY_MARKER=${marker}`)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, deadlineMs = 30_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("sleep when idle, wake on the first request (compiled CLI, local engine, HAProxy)", () => {
  const s = scratch("berth-sleep-");
  const app = join(s.dir, "sleepy");
  let port = 0;
  const berth = (args: string[]): Promise<CliRun> => run(args, { scratch: s, cwd: app, env: { BERTH_HTTP_PORT: String(port), BERTH_SLEEP_CHECK_MS: "300" } });
  const viaRouter = () =>
    new Promise<{ status: number; body: string; woken: boolean; ms: number }>((resolve) => {
      const t0 = Date.now();
      const req = request({ host: "127.0.0.1", port, path: "/", headers: { host: "web-development-sleepy.localhost" }, timeout: 60_000, agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, woken: res.headers["x-berth-woken"] === "1", ms: Date.now() - t0 }));
      });
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (e) => resolve({ status: 0, body: e.message, woken: false, ms: Date.now() - t0 }));
      req.end();
    });
  const statusLine = async () => {
    const st = await berth(["status"]);
    assert.equal(st.status, 0, st.stderr);
    return st.stdout.split("\n").find((l) => /\bweb\b/.test(l) && /\bweb\b.*\bweb\b/.test(l)) ?? "";
  };
  const asleep = async () => (instances().length === 0 && /asleep/.test(await statusLine()) ? true : undefined);

  before(async () => {
    port = await freePort();
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, "berth.yaml"), BLUEPRINT);
    writeFileSync(join(app, "server.js"), SERVER);
  });
  after(async () => {
    await berth(["down"]).catch(() => undefined);
    await stopScratchDaemon(s);
  });

  test("an idle service sleeps: its processes are gone, status and events say so", async () => {
    const up = await berth(["up", "--detach"]);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    const first = await viaRouter();
    assert.equal(first.status, 200, first.body);
    assert.match(first.body, /^awake \d+$/);
    assert.equal(first.woken, false, "a running service is served directly");
    assert.ok(instances().length >= 1, "an instance runs");
    await until("the service to sleep", asleep, 30_000);
    const line = await statusLine();
    assert.match(line, /0\/0\s+asleep/, line);
    const events = await berth(["events"]);
    assert.equal(events.status, 0, events.stderr);
    assert.match(events.stdout, /service:asleep sleepy\/development\/web/);
  });

  test("a request through the router wakes it and gets a 200 from the new instance", async () => {
    const r = await viaRouter();
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^awake \d+$/);
    assert.equal(r.woken, true, "answered through the waker");
    assert.ok(instances().length >= 1, "the service runs again");
    // Once in rotation, requests go straight to the instance.
    await until("the instance in rotation", async () => {
      const again = await viaRouter();
      return again.status === 200 && !again.woken ? true : undefined;
    });
    // A request before each look keeps it awake: with `sleepAfter: 3s`, a loaded machine's
    // `berth status` (1-3 s) could otherwise see it asleep again every time.
    await until("status to show it running", async () => {
      await viaRouter();
      return /1\/1\s+healthy/.test(await statusLine()) ? true : undefined;
    });
    const events = await berth(["events"]);
    assert.match(events.stdout, /service:waking sleepy\/development\/web/);
    assert.match(events.stdout, /service:awake sleepy\/development\/web/);
  });

  test("asleep survives a daemon restart; the first request afterwards wakes it", async () => {
    await until("the service to sleep again", asleep, 30_000);
    const daemonPid = (JSON.parse(readFileSync(join(s.dataDir, "daemon.json"), "utf8")) as { pid: number }).pid;
    process.kill(daemonPid, "SIGTERM");
    await until("the daemon to stop", () => {
      try {
        process.kill(daemonPid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    const up = await berth(["up", "--detach"]);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    // The new daemon reconciled (up waited for it): still asleep, nothing started.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(instances(), [], "nothing started after the restart");
    assert.match(await statusLine(), /asleep/);
    const r = await viaRouter();
    assert.equal(r.status, 200, r.body);
    assert.equal(r.woken, true);
    assert.match(r.body, /^awake \d+$/);
  });
});
