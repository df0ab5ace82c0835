/**
 * Issue 15 acceptance: a sync racing a running reconcile, on real processes. A daemon in its own
 * process (local engine, router on) runs web x2 and a worker; each round sends a sync, then a
 * second one after a random offset, so the second lands before, during or after the first one's
 * build and rollout. The second adds a generated secret the first does not have (what was seen:
 * a release recorded with `WEBREV=11` and a new secret while the processes kept `WEBREV=10`, no
 * secret, and the environment read `live`). After each round settles, the environment read from
 * /proc/<pid>/environ of every instance's process equals the newest release's: the newest
 * WEBREV, the round's secret present (one value per service: generated secrets belong to their
 * service), the previous
 * round's secret gone; and every service runs its newest release.
 *
 * Rounds: SYNC_RACE_ROUNDS (default 20).
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { get } from "../../src/router/test-helpers.ts";
import { environOf, freePort, instanceLeaders, type RunningDaemon, routerMasters, startDaemonProcess } from "./helpers.ts";

const ROUNDS = Number(process.env.SYNC_RACE_ROUNDS ?? 20);
const HOST = "web-production-racy.localhost";

const SERVER = `
const http = require("node:http");
const server = http.createServer((req, res) => res.end(JSON.stringify({ rev: process.env.WEBREV })));
server.keepAliveTimeout = 1000;
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
const WORKER = `setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0));`;

/** `secret`: the name of a generated secret both services get (none when undefined). */
const blueprint = (rev: number, secret: string | undefined) => {
  const extra = secret ? `\n      ${secret}: { generate: secret }` : "";
  return `version: 1
project: racy
services:
  web:
    type: web
    start: node server.js
    replicas: 2
    health: { path: /, interval: 100ms }
    shutdownDelay: 200ms
    env:
      WEBREV: "${rev}"${extra}
  worker:
    type: worker
    start: node worker.js
    health: { grace: 200ms }
    env:
      WEBREV: "${rev}"${extra}
`;
};

interface Status {
  status: string;
  statusDetail: string | null;
  generation: number;
  reconciledGeneration: number;
  services: { name: string; release: number | null; instances: { pid: number | null; state: string }[] }[];
}

describe("a sync racing a running reconcile, on real processes", { timeout: 30 * 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "berth-race-"));
  chmodSync(root, 0o711);
  const dataDir = join(root, "data");
  const app = join(root, "app");
  let daemon: RunningDaemon | undefined;
  after(async () => {
    if (daemon && daemon.child.exitCode === null) {
      const exited = new Promise((r) => daemon!.child.once("exit", r));
      daemon.child.kill("SIGTERM");
      await Promise.race([exited, sleep(30_000)]);
    }
    // Whatever a failed assertion left: only this data dir's own processes, by PID.
    for (const pid of routerMasters(dataDir)) process.kill(pid, "SIGKILL");
    for (const g of existsSync(join(dataDir, "engine", "engine-id")) ? instanceLeaders(dataDir) : []) process.kill(-g, "SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });

  test(`${ROUNDS} random offsets: the processes always end with the newest release's environment`, async () => {
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, "server.js"), SERVER);
    writeFileSync(join(app, "worker.js"), WORKER);
    const httpPort = await freePort();
    daemon = await startDaemonProcess(dataDir, await freePort(), httpPort);
    const sync = (rev: number, secret: string | undefined) =>
      daemon!.api("POST", "/v1/sync", { environment: "production", blueprint: blueprint(rev, secret), sourceDir: app });
    const status = () => daemon!.api<Status>("GET", "/v1/projects/racy/environments/production");
    const settle = async (what: string, rev: number): Promise<Status> => {
      const deadline = Date.now() + 120_000;
      let last = "";
      while (Date.now() < deadline) {
        const s = await status().catch((e: Error) => ({ error: e.message }) as const);
        if ("error" in s) last = s.error;
        else {
          last = `${s.status} ${s.reconciledGeneration}/${s.generation} ${s.statusDetail ?? ""}`;
          if (s.status === "live" && s.reconciledGeneration === s.generation) {
            const r = await get(httpPort, HOST, "/").catch(() => undefined);
            if (r?.status === 200 && (JSON.parse(r.body) as { rev: string }).rev === String(rev)) return s;
            last += ` router: ${r?.status} ${r?.body.slice(0, 80)}`;
          }
        }
        await sleep(100);
      }
      throw new Error(`${what}: not settled within 120 s: ${last}`);
    };

    await sync(0, undefined);
    await settle("first deploy", 0);

    const offsets: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const rev = round * 2;
      const secret = `SECRET_${round}`;
      const offset = Math.floor(Math.random() * 2500);
      offsets.push(offset);
      await sync(rev - 1, undefined);
      await sleep(offset);
      await sync(rev, secret);
      const s = await settle(`round ${round} (+${offset} ms)`, rev);
      const where = `round ${round} (second sync +${offset} ms)`;

      let processes = 0;
      for (const svc of s.services) {
        const secrets = new Set<string>();
        // Every service runs its newest release.
        const releases: { number: number }[] = await daemon!.api("GET", `/v1/projects/racy/environments/production/services/${svc.name}/releases`);
        assert.equal(svc.release, Math.max(...releases.map((r) => r.number)), `${where}: ${svc.name} runs release #${svc.release}`);
        const live = svc.instances.filter((i) => i.state !== "exited");
        assert.equal(live.length, svc.name === "web" ? 2 : 1, `${where}: ${svc.name} instances ${JSON.stringify(svc.instances)}`);
        for (const i of live) {
          const env = environOf(i.pid!);
          processes++;
          assert.equal(env.WEBREV, String(rev), `${where}: ${svc.name} pid ${i.pid} runs WEBREV=${env.WEBREV}`);
          assert.ok(env[secret], `${where}: ${svc.name} pid ${i.pid} lacks ${secret}`);
          secrets.add(env[secret]!);
          if (round > 1) assert.equal(env[`SECRET_${round - 1}`], undefined, `${where}: ${svc.name} pid ${i.pid} still has the previous round's secret`);
        }
        assert.equal(secrets.size, 1, `${where}: ${svc.name}'s instances share one generated value`);
      }
      assert.equal(processes, 3, `${where}: instance processes`);
      // Exactly those processes run for this engine: nothing of an overtaken rollout is left.
      assert.deepEqual(instanceLeaders(dataDir), s.services.flatMap((x) => x.instances.map((i) => i.pid!)).sort((a, b) => a - b), `${where}: process groups`);
    }
    process.stderr.write(`sync race offsets (ms): ${offsets.join(" ")}\n`);
  });
});
