/**
 * Data work as recorded operations (issue 16 on issue 15's runner), against `berth server` as a
 * separate process (memory engine, real PostgreSQL): a backup, a drill, a restore and the
 * reconciler's provisioning recorded side by side run one at a time on the server, never
 * overlapping; and a daemon killed with SIGKILL in the middle of a restore resumes it at the
 * next start — the restore finishes once, services follow, no half-built server is left; and
 * killed during a drill, the scratch server it left running is stopped and removed, and what an
 * interrupted backup left is swept.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { BIN } from "../helpers/cli.ts";
import { tempDir, writeProject } from "../helpers/daemon.ts";
import { freePort, sleep, until } from "./stack.ts";


const BLUEPRINT = `version: 1
project: ops
services:
  api:
    type: worker
    start: node worker.js
    env:
      DATABASE_URL: { fromDatabase: db.connectionString }
databases:
  db: { postgres: 15 }
`;

interface Op {
  id: string;
  kind: string;
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
  attempts: number;
}

describe("data operations: serialized per server, resumed after a daemon kill", () => {
  const dataDir = tempDir("berth-ops-");
  const source = writeProject(join(tempDir("berth-ops-src-"), "ops"), BLUEPRINT, { "worker.js": "setInterval(() => {}, 1000);\n" });
  let port = 0;
  let daemon: ChildProcess | undefined;
  let creds = { url: "", token: "" };

  const start = async () => {
    port ||= await freePort();
    // The compiled daemon (bin/berth execs node: the pid is the daemon's, for SIGKILL).
    daemon = spawn(BIN, ["server", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--engine", "memory"], {
      // SIGTERM (the test's end) stops instances and database servers too; SIGKILL leaves them to the next start.
      env: { ...process.env, BERTH_ROUTER: "off", BERTH_RESYNC_INTERVAL_MS: "1000", BERTH_STOP_INSTANCES: "1" },
      stdio: "ignore",
    });
    creds = await until(async () => {
      const c = JSON.parse(readFileSync(join(dataDir, "daemon.json"), "utf8")) as { url: string; token: string; pid: number };
      if (c.pid !== daemon!.pid) return undefined;
      const ok = await fetch(`${c.url}/healthz`).then((r) => r.ok);
      return ok ? c : undefined;
    }, "the daemon to listen", 60_000, 200);
  };
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${creds.url}${path}`, { method, headers: { authorization: `Bearer ${creds.token}`, ...(body ? { "content-type": "application/json" } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  const op = (id: string) => api<Op>("GET", `/v1/operations/${id}`);
  const finished = (id: string) => until(async () => ((await op(id)).state.match(/succeeded|failed|cancelled/) ? op(id) : undefined), `operation ${id}`, 120_000, 100);
  const db = "/v1/projects/ops/environments/production/databases/db";
  const dbUrl = async () => (await api<{ url: string }>("GET", `${db}/url`)).url;
  const query = async (sql: string) => {
    const c = new pg.Client({ connectionString: await dbUrl() });
    c.on("error", () => {});
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end().catch(() => {});
    }
  };

  after(async () => {
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise((r) => daemon!.on("exit", r));
      daemon.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(source, ".."), { recursive: true, force: true });
  });

  test("backup, drill, restore and provisioning recorded at once run one after another", async () => {
    await start();
    await api("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: source });
    await until(async () => ((await api<{ status: string }>("GET", "/v1/projects/ops/environments/production")).status === "live" ? true : undefined), "the environment to go live");
    await query("CREATE TABLE t (id int PRIMARY KEY)");
    await query("INSERT INTO t SELECT generate_series(1, 100)");
    const b = await api<Op>("POST", `${db}/backups`, {});
    const d = await api<Op>("POST", `${db}/drills`);
    const r = await api<Op>("POST", `${db}/restores`, { to: "latest", keep: true });
    const b2 = await api<Op>("POST", `${db}/backups`, { kind: "dump" });
    const ops = await Promise.all([b, d, r, b2].map((o) => finished(o.id)));
    assert.deepEqual(
      ops.map((o) => [o.kind, o.state]),
      [
        ["db-backup", "succeeded"],
        ["db-drill", "succeeded"],
        ["db-restore", "succeeded"],
        ["db-backup", "succeeded"],
      ],
      JSON.stringify(ops.map((o) => o.error)),
    );
    // Every data operation of the environment (provisioning by the 1 s resync included): none overlapped.
    const all = (await api<Op[]>("GET", "/v1/operations?environment=production&limit=1000")).filter((o) => o.kind.startsWith("db-") && o.startedAt && o.finishedAt);
    assert.ok(all.some((o) => o.kind === "db-ensure"), "the reconciler's provisioning is an operation too");
    const spans = all.map((o) => [Date.parse(o.startedAt!), Date.parse(o.finishedAt!)] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `operations ${i - 1} and ${i} overlap: ${JSON.stringify(spans.slice(i - 1, i + 1))}`);
    console.log(`${all.length} data operations, none overlapping (${all.filter((o) => o.kind === "db-ensure").length} provisioning)`);
    await finished((await api<Op>("DELETE", `${db}/servers/${(r.id && ((await op(r.id)).result as { restore: string }).restore)!}`)).id);
  });

  test("a daemon killed with SIGKILL during a restore resumes it: one promote, services follow, nothing half-built", async () => {
    await query("INSERT INTO t SELECT generate_series(101, 200)");
    const before = (await api<{ databases: { servers: { instance: string; role: string }[] }[] }>("GET", "/v1/projects/ops/environments/production/databases")).databases[0]!.servers;
    const r = await api<Op>("POST", `${db}/restores`, { to: "latest" });
    await until(async () => ((await op(r.id)).state === "running" ? true : undefined), "the restore to start", 30_000, 10);
    await sleep(Math.random() * 400);
    daemon!.kill("SIGKILL");
    await new Promise((res) => daemon!.on("exit", res));
    await start();
    const done = await finished(r.id);
    assert.equal(done.state, "succeeded", JSON.stringify(done.error));
    assert.ok(done.attempts >= 2, `resumed (attempt ${done.attempts})`);
    const restore = (done.result as { restore: string }).restore;
    const servers = (await api<{ databases: { servers: { instance: string; role: string }[] }[] }>("GET", "/v1/projects/ops/environments/production/databases")).databases[0]!.servers;
    assert.equal(servers.find((s) => s.role === "live")?.instance, restore, JSON.stringify(servers));
    // Only the servers that were there, plus this restore: no second, half-built one.
    const instances = readdirSync(join(dataDir, "resources", "ops", "production", "postgres", "instances")).filter((f) => !f.endsWith(".log"));
    assert.deepEqual(instances.sort(), [...new Set([...before.map((s) => s.instance), restore])].sort());
    assert.deepEqual(await query("SELECT count(*)::int AS n FROM t"), [{ n: 200 }]);
    const events = await api<{ type: string }[]>("GET", "/v1/events?limit=1000&type=operation:resumed");
    assert.ok(events.some((e) => e.type === "operation:resumed"));
    assert.equal(existsSync(join(dataDir, "backups", "ops", "production", "postgres", restore, "store.json")), true);
  });

  test("a daemon killed during a drill and a backup: the scratch server is stopped and removed, unrecorded backups swept, the drill resumed", async () => {
    const scratchRoot = join(dataDir, "resources", "ops", "production", "postgres", "scratch");
    const live = (await api<{ databases: { servers: { instance: string; role: string }[] }[] }>("GET", "/v1/projects/ops/environments/production/databases")).databases[0]!.servers.find((s) => s.role === "live")!.instance;
    const store = join(dataDir, "backups", "ops", "production", "postgres", live);
    const d = await api<Op>("POST", `${db}/drills`);
    // Killed while the scratch server runs (it is in its own process group: it outlives the daemon).
    const pidFile = await until(
      async () => {
        for (const f of existsSync(scratchRoot) ? readdirSync(scratchRoot) : []) {
          const p = join(scratchRoot, f, "data", "postmaster.pid");
          if (existsSync(p)) return p;
        }
        return undefined;
      },
      "the drill's scratch server",
      60_000,
      20,
    );
    daemon!.kill("SIGKILL");
    await new Promise((res) => daemon!.on("exit", res));
    const scratchPid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(alive(scratchPid), "the scratch server outlived the daemon");
    // What a backup killed half-way leaves: a base backup directory, a dump and a record half-written, none recorded.
    mkdirSync(join(store, "base", "b-20260101000000-orphan"), { recursive: true });
    writeFileSync(join(store, "base", "b-20260101000000-orphan", "PG_VERSION"), "15\n");
    writeFileSync(join(store, "dumps", "d-20260101000000-orphan.dump"), "partial");
    writeFileSync(join(store, "base", "b-20260101000001-half.json.tmp"), "{");
    const recorded = readdirSync(join(store, "base")).filter((f) => f.endsWith(".json"));
    await start();
    const done = await finished(d.id);
    assert.equal(done.state, "succeeded", JSON.stringify(done.error));
    assert.equal((done.result as { ok: boolean }).ok, true);
    assert.equal(alive(scratchPid), false, "the orphaned scratch server was stopped");
    assert.deepEqual(readdirSync(scratchRoot), [], "no scratch directory left");
    assert.deepEqual(readdirSync(join(store, "dumps")).filter((f) => f.includes("orphan")), []);
    assert.deepEqual(readdirSync(join(store, "base")).filter((f) => f.includes("orphan") || f.endsWith(".tmp")), []);
    for (const f of recorded) assert.ok(existsSync(join(store, "base", f)), `recorded backup ${f} kept`);
    const warnings = await api<{ type: string; data: { message: string } }[]>("GET", "/v1/events?limit=1000&type=data:warning");
    assert.ok(warnings.some((w) => /interrupted daemon left: .*drill scratch.*unrecorded backups/.test(w.data.message)), JSON.stringify(warnings));
  });
});
