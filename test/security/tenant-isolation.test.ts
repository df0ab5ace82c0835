/**
 * Issue 17, acceptance: with a deployer token scoped to project A (s17attacker), on the real
 * local engine as root (project users, bubblewrap, cgroups, the nftables loopback policy), real
 * HAProxy and a real PostgreSQL for project B (s17victim):
 *
 * - a build command and a start command that try to read /etc/shadow, the key file, the data
 *   dir and B's files, to write outside their directories, and to open B's database and the
 *   daemon's API all fail, and the failures are reported (build log events, instance logs,
 *   both readable with the scoped token);
 * - moving A's source to B's directory, or rootDir out of the tree, is refused;
 * - a blueprint with a newline, `#` or space in any path/host field is rejected with its
 *   location; the rendered HAProxy maps are byte-identical to those without the attempt; B's
 *   routes keep answering with B's service.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { freePort } from "../../src/router/test-helpers.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";
import { PROBE_JS } from "./probe-app.ts";

const ROOT = process.getuid?.() === 0;
const A = "s17attacker";
const B = "s17victim";

const SERVER = (name: string) => `require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "${name}")).listen(Number(process.env.PORT), "127.0.0.1");\n`;

const victimBlueprint = `version: 1
project: ${B}
services:
  web:
    type: web
    start: node server.js
    health: /health
    env:
      DATABASE_URL: { fromDatabase: db.connectionString }
databases:
  db: { postgres: 15, backups: false, pitr: false }
`;

const benign = `version: 1
project: ${A}
services:
  web:
    type: web
    start: node server.js
    health: /health
`;

const hostile = (targets: object) => `version: 1
project: ${A}
services:
  web:
    type: web
    build: node probe.js build
    start: node probe.js start
    health: /health
    env:
      PROBE_TARGETS: '${JSON.stringify(targets)}'
`;

/** GET through the router with a Host header. */
function viaRouter(port: number, host: string, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("a deployer scoped to one project cannot reach the host or another project", { skip: !ROOT && "needs root (project users, bubblewrap, cgroups, nftables)" }, () => {
  let t: TestDaemon;
  let routerPort: number;
  let dirA: string;
  let dirB: string;
  let deployer: string;
  const as = (token: string) => ({
    sync: (blueprint: string, sourceDir = dirA) => t.request("POST", "/v1/sync", { environment: "production", blueprint, sourceDir }, token),
  });
  const mapsNow = (): Record<string, string> => {
    const gen = join(t.dataDir, "router", "gen");
    const latest = readdirSync(gen).map(Number).filter(Number.isFinite).sort((a, b) => b - a)[0]!;
    const out: Record<string, string> = {};
    for (const f of readdirSync(join(gen, String(latest))).filter((x) => x.endsWith(".map"))) out[f] = readFileSync(join(gen, String(latest), f), "utf8");
    return out;
  };
  const status = async (project: string) => (await t.request("GET", `/v1/projects/${project}/environments/production`)).json as { status: string; statusDetail: string | null };

  before(async () => {
    routerPort = await freePort();
    const stateDir = tempDir("berth-s17-engine-");
    t = await startTestDaemon({
      listen: true,
      routerHttpPort: routerPort,
      health: httpHealthGate,
      engine: ({ bus, openEnv, redact, loopback }) => new LocalEngine({ stateDir, events: bus, openEnv, redact, ...(loopback ? { loopback } : {}) }),
    });
    dirB = writeProject(join(tempDir(), B), victimBlueprint, { "server.js": SERVER("victim"), "secret.txt": "victim-source-secret" });
    dirA = writeProject(join(tempDir(), A), benign, { "server.js": SERVER("attacker"), "probe.js": PROBE_JS });
    // The owner chooses where each project's files come from (first syncs).
    for (const [bp, dir] of [[victimBlueprint, dirB], [benign, dirA]] as const) {
      const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: bp, sourceDir: dir });
      assert.equal(r.status, 202, JSON.stringify(r.json));
    }
    await t.daemon.reconciler.whenIdle();
    assert.equal((await status(B)).status, "live", JSON.stringify(await status(B)));
    assert.equal((await status(A)).status, "live", JSON.stringify(await status(A)));
    deployer = t.daemon.store.tokens.create({ name: "a-deployer", role: "deployer", projects: [A] }, new Date().toISOString()).token;
  });
  after(() => t?.close());

  test("B answers through the router before anything happens", async () => {
    assert.deepEqual(await viaRouter(routerPort, `web-production-${B}.localhost`), { status: 200, body: "victim" });
  });

  test("build and start commands of A: every read, write and connection outside A fails, and is reported", async () => {
    const dbs = (await t.request("GET", `/v1/projects/${B}/environments/production/databases`)).json as { databases: { port: number }[] };
    const otherDbPort = dbs.databases[0]!.port;
    const envB = t.daemon.store.environments.byName(B, "production")!;
    const webB = t.daemon.store.services.list(envB.id).find((s) => s.name === "web")!;
    const releaseB = t.daemon.store.releases.byId(webB.desiredReleaseId!)!;
    const daemonPort = Number(new URL(t.daemon.url).port);
    const targets = {
      keyFile: join(t.dataDir, "secrets.kek"),
      dataDir: t.dataDir,
      otherSource: join(dirB, "secret.txt"),
      otherSourceDir: dirB,
      otherRelease: join((releaseB.artifact as { path: string }).path, "server.js"),
      otherDbPort,
      daemonPort,
      routerPort,
    };
    // Positive controls, from the test (root): each target exists and answers.
    assert.ok(readFileSync(targets.keyFile).length > 0 && readFileSync(targets.otherRelease).length > 0 && readFileSync(targets.otherSource).length > 0);
    writeFileSync(join(dirA, "targets.json"), JSON.stringify(targets));
    const seqBefore = t.daemon.store.events.lastSeq();
    const r = await as(deployer).sync(hostile(targets));
    assert.equal(r.status, 202, JSON.stringify(r.json));
    await t.daemon.reconciler.whenIdle();
    const failed = (await t.request("GET", `/v1/events?after=${seqBefore}&type=deploy:failed,deploy:build:log`, undefined, deployer)).json;
    assert.equal((await status(A)).status, "live", JSON.stringify(failed).slice(0, 3000));

    // What the scoped token can read back: the build log (events) and the instance's log.
    const events = (await t.request("GET", `/v1/events?after=${seqBefore}&type=deploy:build:log&limit=5000`, undefined, deployer)).json as { data: { line: string } }[];
    const logs = (await t.request("GET", `/v1/projects/${A}/environments/production/services/web/logs`, undefined, deployer)).json;
    const lines = [...events.map((e) => e.data.line), ...String(typeof logs === "string" ? logs : JSON.stringify(logs)).split("\n").map((l) => (l.startsWith("{") ? (JSON.parse(l) as { line: string }).line : l))];
    const probes = new Map<string, string>();
    for (const l of lines) {
      const m = /PROBE (build|start) (\S+) (ok|denied) ?(.*)/.exec(l);
      if (m) probes.set(`${m[1]} ${m[2]}`, `${m[3]} ${m[4]}`);
    }
    const expectDenied: Record<string, RegExp> = {
      "read-shadow": /EACCES/,
      "read-key-file": /ENOENT/,
      "list-data-dir": /ENOENT|SKELETON-ONLY/,
      "read-db-file": /ENOENT/,
      "read-other-source": /ENOENT/,
      "read-other-release": /ENOENT/,
      "write-etc": /EROFS|EACCES/,
      "write-usr": /EROFS|EACCES/,
      "write-data-dir": /ENOENT|EROFS|EACCES/,
      "write-other-source": /ENOENT|EROFS|EACCES/,
      "connect-other-database": /ECONNREFUSED|ECONNRESET/,
      "connect-daemon-api": /ECONNREFUSED|ECONNRESET/,
    };
    for (const phase of ["build", "start"]) {
      assert.match(probes.get(`${phase} whoami`) ?? "", /^ok uid=\d+/, `${phase}: runs as the project's user`);
      for (const [name, why] of Object.entries(expectDenied)) {
        const got = probes.get(`${phase} ${name}`);
        assert.ok(got, `${phase} ${name}: no report (lines: ${lines.filter((l) => l.includes("PROBE")).join(" | ")})`);
        assert.ok(got.startsWith("denied"), `${phase} ${name} was allowed: ${got}`);
        assert.match(got.slice("denied ".length), why, `${phase} ${name}: ${got}`);
      }
      // The sandbox is not simply offline: its own directory and the public router work.
      assert.match(probes.get(`${phase} write-own-dir`) ?? "", /^ok/, `${phase} write-own-dir`);
      assert.match(probes.get(`${phase} connect-router`) ?? "", /^ok connected/, `${phase} connect-router`);
    }
    // And from outside (root), the same database and API do answer: the refusals above are the policy.
    const reachable = (port: number) =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: "127.0.0.1", port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
    assert.ok(await reachable(otherDbPort), "B's database answers root");
    assert.ok(await reachable(daemonPort), "the API answers root");
    // Nothing was written where the probe tried.
    for (const p of ["/etc/berth-probe", "/usr/berth-probe", join(t.dataDir, "berth-probe"), join(dirB, "berth-probe")]) assert.throws(() => readFileSync(p), p);
    assert.deepEqual(await viaRouter(routerPort, `web-production-${B}.localhost`), { status: 200, body: "victim" });
    assert.deepEqual(await viaRouter(routerPort, `web-production-${A}.localhost`), { status: 200, body: "attacker" });
  });

  test("the scoped deployer cannot point A at B's directory, a local repository, or rootDir outside", async () => {
    const moved = await as(deployer).sync(benign, dirB);
    assert.equal(moved.status, 403);
    assert.equal(moved.json.error.code, "BERTH_SOURCE_DIR_FORBIDDEN");
    const git = await t.request("POST", `/v1/projects/${A}/git`, { url: join(t.dataDir, "git", `${B}.git`) }, deployer);
    assert.equal(git.status, 403);
    const outside = await as(deployer).sync(benign.replace("    start: node server.js", "    rootDir: ../../../../etc\n    start: node server.js"));
    assert.equal(outside.status, 422);
    assert.equal(outside.json.error.details[0].code, "BERTH_BLUEPRINT_BAD_TEXT");
    assert.deepEqual([outside.json.error.details[0].line, outside.json.error.details[0].path.join(".")], [6, "services.web.rootDir"]);
    // A symlink in A's tree pointing at B's files is refused by the build, not followed.
    const { symlinkSync, rmSync } = await import("node:fs");
    symlinkSync(join(dirB, "secret.txt"), join(dirA, "victim-secret"));
    try {
      const seq = t.daemon.store.events.lastSeq();
      // A new build command: a new build (an unchanged one would be a cache hit and copy nothing).
      assert.equal((await as(deployer).sync(benign.replace("    start: node server.js", "    build: echo v2\n    start: node server.js"))).status, 202);
      await t.daemon.reconciler.whenIdle();
      const failed = (await t.request("GET", `/v1/events?after=${seq}&type=deploy:failed`, undefined, deployer)).json as { data: { reason: string } }[];
      assert.match(failed.at(-1)?.data.reason ?? "", /symlink 'victim-secret' leaves the source tree/);
    } finally {
      rmSync(join(dirA, "victim-secret"));
    }
  });

  test("newline, # or space in any path or host field: refused with its location; maps unchanged; B still answers", async () => {
    const before = mapsNow();
    const attempts: Array<{ field: string; yaml: string; line: number }> = [
      { field: "services.web.routes.0.path", yaml: `    routes:\n      - path: "/x\\nweb-production-${B}.localhost/ svc.${A}.production.web\\n#"\n`, line: 7 },
      { field: "services.web.routes.0.path", yaml: "    routes:\n      - path: \"/x#y\"\n", line: 7 },
      { field: "services.web.routes.0.path", yaml: "    routes:\n      - path: \"/a b\"\n", line: 7 },
      { field: "services.web.routes.0.domain", yaml: `    routes:\n      - path: /\n        domain: "web-production-${B}.localhost evil"\n`, line: 8 },
      { field: "services.web.domains.0", yaml: `    domains: ["x.example.com\\nweb-production-${B}.localhost"]\n`, line: 6 },
      { field: "services.web.domains.0", yaml: `    domains: ["web-production-${B}.localhost"]\n`, line: 6 },
      { field: "services.web.health", yaml: "    health: \"/h #x\"\n", line: 6 },
    ];
    for (const a of attempts) {
      const bp = `version: 1\nproject: ${A}\nservices:\n  web:\n    type: web\n${a.yaml}    start: node server.js\n`;
      const r = await as(deployer).sync(bp);
      assert.equal(r.status, 422, `${a.field}: ${JSON.stringify(r.json)}`);
      const d = r.json.error.details.find((x: { path: (string | number)[] }) => x.path.join(".") === a.field);
      assert.ok(d, `${a.field}: not located at the field: ${JSON.stringify(r.json.error.details)}`);
      assert.equal(d.line, a.line, `${a.field}: line`);
      assert.ok(d.column >= 1);
    }
    await t.daemon.reconciler.whenIdle();
    assert.deepEqual(mapsNow(), before, "the rendered maps changed");
    for (let i = 0; i < 4; i++) assert.deepEqual(await viaRouter(routerPort, `web-production-${B}.localhost`), { status: 200, body: "victim" });
    assert.equal((await status(B)).status, "live");
  });
});
