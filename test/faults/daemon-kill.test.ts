/**
 * Issue 15 acceptance: kill -9 of the daemon at random points — idle, mid-build, mid-rollout,
 * inside a base backup, inside a restore — while a stack (web x2, a worker, Postgres, Redis) serves a paced load through the router.
 * After every restart it counts what the data dir runs: one router (the same HAProxy, adopted),
 * exactly the desired instances (no orphan process group, no stray listening port, no stale
 * pipe), one Postgres and one Redis, no half-written build dir, no release lost, and the
 * interrupted deploy finished (the processes run the newest blueprint's env). Instances whose
 * release did not change are not restarted (PIDs compared, every round), and neither are the
 * database servers outside a restore (adopted by the restarted daemon). Requests may fail
 * only while no healthy instance existed — with start-first rollouts and an adopted router, that
 * is never.
 *
 * Rounds: FAULT_ROUNDS (default 20). FAULT_DATA=0 leaves out the kills inside a base backup and
 * a restore (to `latest`), which are recorded operations (issue 16). Every round checks
 * that every instance's DATABASE_URL reaches the running server.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { get } from "../../src/router/test-helpers.ts";
import {
  dataServers, environOf, freePort, instanceLeaders, kill9, listeningPorts, listeningPortsOfPids, type RunningDaemon, routerMasters, startDaemonProcess,
} from "./helpers.ts";

const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 20);
/** Kills inside a base backup and a restore too (recorded operations, issue 16); FAULT_DATA=0 leaves them out. */
const DATA = process.env.FAULT_DATA !== "0";
const HOST = "web-production-faulty.localhost";

const SERVER = `
const http = require("node:http");
const version = require("node:fs").readFileSync(__dirname + "/VERSION", "utf8").trim();
const server = http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ rev: process.env.WEBREV, version, pid: process.pid, db: !!process.env.DATABASE_URL, kv: !!process.env.REDIS_URL }));
});
server.keepAliveTimeout = 1000;
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
// A build that takes a while (so a kill can land inside it) and writes what it built.
const BUILD = `
const fs = require("node:fs");
const ms = Number(fs.readFileSync("build-ms.txt", "utf8"));
setTimeout(() => fs.writeFileSync("VERSION", fs.readFileSync("source.txt", "utf8")), ms);
`;
const WORKER = `setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0));`;

const blueprint = (rev: number) => `version: 1
project: faulty
services:
  web:
    type: web
    build: node build.js
    start: node server.js
    replicas: 2
    health: { path: /, interval: 200ms }
    shutdownDelay: 2s
    env:
      WEBREV: "${rev}"
      DATABASE_URL: { fromDatabase: db.connectionString }
      REDIS_URL: { fromKeyValue: cache.url }
  worker:
    type: worker
    start: node worker.js
    health: { grace: 300ms }
    env:
      DATABASE_URL: { fromDatabase: db.connectionString }
databases:
  db: { postgres: 15 }
keyValues:
  cache: { redis: 7, persistence: none }
`;

interface Status {
  status: string;
  statusDetail: string | null;
  generation: number;
  reconciledGeneration: number;
  services: { name: string; release: number | null; instances: { id: string; state: string; pid: number | null; port: number | null }[] }[];
}

describe("kill -9 of the daemon at random points", { timeout: 60 * 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "berth-faults-"));
  chmodSync(root, 0o711); // database servers run as their own users and traverse it
  const dataDir = join(root, "data");
  const app = join(root, "app");
  let daemon: RunningDaemon | undefined;
  /** What the data side (issue 16) still owes: database servers restarted or left behind by a kill. */
  const dataProblems: string[] = [];
  after(async () => {
    if (daemon && daemon.child.exitCode === null) {
      const exited = new Promise((r) => daemon!.child.once("exit", r));
      daemon.child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    }
    // Whatever a failed assertion left: only this data dir's own processes, by PID.
    for (const pid of [...routerMasters(dataDir), ...Object.values(dataServers(dataDir)).flat()]) process.kill(pid, "SIGKILL");
    for (const g of existsSync(join(dataDir, "engine", "engine-id")) ? instanceLeaders(dataDir) : []) process.kill(-g, "SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });

  test(`${ROUNDS} rounds: no orphan, no duplicate router, no lost release, no failed request, unchanged instances kept`, async () => {
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(app, { recursive: true });
    const files = { "server.js": SERVER, "build.js": BUILD, "worker.js": WORKER, "build-ms.txt": "800", "source.txt": "v0" };
    for (const [f, text] of Object.entries(files)) writeFileSync(join(app, f), text);
    const apiPort = await freePort();
    const httpPort = await freePort();
    daemon = await startDaemonProcess(dataDir, apiPort, httpPort);

    let rev = 0;
    let source = 0;
    // The blueprint is sent, not written into the app dir (it would change every service's source digest).
    const sync = async () => {
      return daemon!.api("POST", "/v1/sync", { environment: "production", blueprint: blueprint(rev), sourceDir: app });
    };
    const status = () => daemon!.api<Status>("GET", "/v1/projects/faulty/environments/production");
    /** Settled: live, newest generation reconciled, every answer through the router from the newest rev and source. */
    const settle = async (what: string, timeoutMs = 180_000) => {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        try {
          const s = await status();
          last = `${s.status} ${s.reconciledGeneration}/${s.generation} ${s.statusDetail ?? ""}`;
          if (s.status === "live" && s.reconciledGeneration === s.generation) {
            const answers = await Promise.all([1, 2, 3, 4].map(() => get(httpPort, HOST, "/").then((r) => JSON.parse(r.body) as { rev: string; version: string; pid: number })));
            last += ` answers ${JSON.stringify(answers.map((a) => [a.rev, a.version]))}`;
            if (answers.every((a) => a.rev === String(rev) && a.version === `v${source}`)) return s;
          }
        } catch (e) {
          last = (e as Error).message;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`${what}: not settled within ${timeoutMs} ms: ${last}`);
    };

    await sync();
    await settle("first deploy");

    // A paced load through the router for the whole test.
    const failures: { at: number; detail: string }[] = [];
    let served = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const r = await get(httpPort, HOST, "/").catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status === 200) served++;
        else failures.push({ at: Date.now(), detail: `${r.status} ${r.body.slice(0, 120)}` });
        await new Promise((res) => setTimeout(res, 25));
      }
    })();

    const releasesSeen = new Set<number>();
    const log: string[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const before = await status();
        for (const s of before.services) if (s.release) releasesSeen.add(s.release);
        const routerBefore = routerMasters(dataDir);
        const dbBefore = dataServers(dataDir);
        const kinds = ["idle", "rollout", "build", ...(DATA ? (["backup", "restore"] as const) : [])] as const;
        const kind = kinds[Math.floor(Math.random() * kinds.length)]!;
        let offset = 0;
        if (kind === "backup" || kind === "restore") {
          // Sent and not awaited: the kill lands inside it (a synchronous route here; a recorded
          // operation once issue 16 lands, then checked below through /v1/operations).
          const db = "/v1/projects/faulty/environments/production/databases/db";
          const body = kind === "backup" ? { kind: "base" } : { to: "latest" };
          void daemon.api("POST", `${db}/${kind === "backup" ? "backups" : "restores"}`, body).catch(() => {});
          offset = Math.floor(Math.random() * (kind === "backup" ? 3000 : 6000));
        } else if (kind === "rollout") {
          rev++;
          await sync();
          offset = Math.floor(Math.random() * 3000);
        } else if (kind === "build") {
          rev++;
          source++;
          writeFileSync(join(app, "source.txt"), `v${source}`);
          await sync();
          offset = Math.floor(Math.random() * 4000);
        } else {
          offset = Math.floor(Math.random() * 1000);
        }
        await new Promise((r) => setTimeout(r, offset));
        const leadersAtKill = instanceLeaders(dataDir);
        await kill9(daemon);
        daemon = await startDaemonProcess(dataDir, apiPort, httpPort);
        const after = await settle(`round ${round} (${kind} +${offset} ms)`);
        // Let a resync pass run on the adopted state too: nothing may change afterwards.
        await new Promise((r) => setTimeout(r, 1500));
        const settled = await settle(`round ${round} after a resync`);
        const where = `round ${round} (${kind}, killed +${offset} ms)`;

        // One router, and it is the one that was running: adopted, not replaced.
        assert.deepEqual(routerMasters(dataDir), routerBefore, `${where}: router masters`);
        // Exactly the desired instances: 2 web + 1 worker process groups, nothing else of this engine.
        const instances = settled.services.flatMap((s) => s.instances);
        const leaders = instanceLeaders(dataDir);
        assert.equal(instances.length, 3, `${where}: ${JSON.stringify(settled.services)}`);
        assert.deepEqual(leaders, instances.map((i) => i.pid!).sort((a, b) => a - b), `${where}: instance process groups`);
        // No stray listening port: the groups listen on exactly the web instances' ports.
        assert.deepEqual(listeningPorts(leaders), instances.flatMap((i) => (i.port ? [i.port] : [])).sort((a, b) => a - b), `${where}: listening ports`);
        // No stale pipe, no half-written build dir.
        assert.equal(readdirSync(join(dataDir, "engine", "pipes")).length, 2 * instances.length, `${where}: pipes`);
        assert.deepEqual(readdirSync(join(dataDir, "artifacts")).filter((n) => n.includes(".tmp-")), [], `${where}: unfinished artifacts`);
        // One database server each, and no drill server of the killed daemon left behind.
        const db = dataServers(dataDir);
        assert.equal(db.postgres.length, 1, `${where}: postgres servers ${db.postgres}`);
        assert.equal(db.redis.length, 1, `${where}: redis servers ${db.redis}`);
        const strayDrills = db.scratch.filter((pid) => dbBefore.scratch.includes(pid));
        if (strayDrills.length > 0) dataProblems.push(`${where}: drill servers of the killed daemon still run: ${strayDrills}`);
        // Every instance reaches the database server that runs: a restore killed half-way is
        // finished (services moved) or rolled back (services stay), never half-applied.
        const pgPorts = listeningPortsOfPids(db.postgres);
        for (const i of instances) {
          const url = environOf(i.pid!).DATABASE_URL ?? "";
          const port = Number(/:(\d+)\//.exec(url)?.[1]);
          assert.ok(pgPorts.includes(port), `${where}: instance pid ${i.pid} uses database port ${port}, the server listens on ${pgPorts}`);
        }
        // The databases never change here but through a restore: the same servers should keep
        // running through every kill: the restarted daemon adopts them (checked by the last test).
        if (kind !== "restore" && String([db.postgres, db.redis]) !== String([dbBefore.postgres, dbBefore.redis])) {
          dataProblems.push(`${where}: database servers restarted although their settings did not change (postgres ${dbBefore.postgres} -> ${db.postgres}, redis ${dbBefore.redis} -> ${db.redis})`);
        }
        // A service whose release did not change keeps its processes (the worker through a web-only
        // rollout; everything through an idle kill).
        const pidsOf = (s: Status["services"][number] | undefined) => (s?.instances ?? []).map((i) => i.pid).sort();
        for (const s of settled.services) {
          const was = before.services.find((b) => b.name === s.name);
          if (was?.release === s.release) assert.deepEqual(pidsOf(s), pidsOf(was), `${where}: ${s.name} (release #${s.release} unchanged) was restarted`);
        }
        if (kind === "idle") assert.deepEqual(leaders, leadersAtKill, `${where}: instances were restarted although nothing changed`);
        // No release lost: every release seen before is still recorded.
        const releases = (await daemon.api<{ number: number }[]>("GET", "/v1/projects/faulty/environments/production/services/web/releases")).map((r) => r.number);
        for (const n of releasesSeen) if (n > Math.max(...releases) - 10) assert.ok(releases.includes(n), `${where}: release #${n} lost (have ${releases})`);
        // The interrupted deploy finished: no deploy or operation is left running.
        const deploys = await daemon.api<{ status: string }[]>("GET", "/v1/projects/faulty/environments/production/deploys?limit=20");
        assert.ok(!deploys.some((d) => d.status === "running"), `${where}: a deploy is still running`);
        // Operations the restarted daemon started itself (a reconcile's db-ensure) may still be
        // running on a loaded machine: left unfinished means still there after a minute.
        let ops = await daemon.api<{ state: string }[]>("GET", "/v1/operations?state=pending,running");
        for (const until = Date.now() + 60_000; ops.length > 0 && Date.now() < until; ) {
          await new Promise((r) => setTimeout(r, 250));
          ops = await daemon.api<{ state: string }[]>("GET", "/v1/operations?state=pending,running");
        }
        assert.deepEqual(ops, [], `${where}: operations left unfinished`);
        log.push(`${where}: ok (${after.services.map((s) => `${s.name}#${s.release}`).join(" ")}, ${served} served, ${failures.length} failed)`);
      }
    } finally {
      loading = false;
      await load;
      process.stderr.write(`${log.join("\n")}\n`);
    }
    assert.ok(served > 100, `served ${served}`);
    assert.deepEqual(failures, [], `${failures.length} of ${served + failures.length} requests failed`);
  });

  test("the database servers are adopted, not restarted, by every restarted daemon (PIDs compared)", () => {
    assert.deepEqual(dataProblems, []);
  });
});
