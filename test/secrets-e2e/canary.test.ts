/**
 * The canary, end to end: a secret set through the API, deployed on the memory engine (whose
 * instances and tasks print their whole environment), next to a failing build that prints its
 * environment, a failing preDeploy, and a string of error paths. The canary's value (and its
 * URL, base64 and hex forms) must then appear 0 times in the SQLite files (db, -wal, -shm,
 * before and after a checkpoint), any file of the data dir, the events, and every API response
 * collected — except the one owner `get` whose purpose is to return it.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const CANARY = `canary-${Date.now().toString(36)}-7f3a9c1e5b`;

const BLUEPRINT = `version: 1
project: birds
services:
  api:
    type: web
    start: node server.js
    preDeploy: node migrate.js
    env:
      CANARY: { secret: true }
      AUTH_URL: "https://svc:\${CANARY}@auth.example.com/v1"
  broken:
    type: web
    build: env; echo "CANARY=$CANARY"; exit 1
    start: node server.js
    env:
      CANARY: { fromService: { name: api, envVarKey: CANARY } }
  migrations:
    type: worker
    start: node worker.js
    preDeploy: node fail.js
    env:
      CANARY: { fromService: { name: api, envVarKey: CANARY } }
`;

function forms(value: string): string[] {
  const b64 = Buffer.from(value).toString("base64").replace(/=+$/, "");
  return [value, encodeURIComponent(value), b64, Buffer.from(value).toString("base64url"), Buffer.from(value).toString("hex")];
}

function count(haystack: Buffer | string, needles: readonly string[]): number {
  const bytes = typeof haystack === "string" ? Buffer.from(haystack) : haystack;
  let n = 0;
  for (const needle of needles) {
    for (const enc of ["utf8", "utf16le"] as const) {
      const b = Buffer.from(needle, enc);
      for (let at = bytes.indexOf(b); at >= 0; at = bytes.indexOf(b, at + 1)) n++;
    }
  }
  return n;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = statSync(p);
    return st.isDirectory() ? filesUnder(p) : st.isFile() ? [p] : [];
  });
}

describe("the canary secret, end to end", () => {
  let t: TestDaemon;
  let dir: string;
  const responses: { what: string; body: string }[] = [];
  /** Every env an instance or task saw: the positive control that the canary did reach them. */
  const seen: Readonly<Record<string, string>>[] = [];
  const call = async (method: string, url: string, body?: unknown, token?: string) => {
    const res = await t.daemon.api.inject({
      method: method as "GET",
      url,
      headers: { authorization: `Bearer ${token ?? t.token}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    responses.push({ what: `${method} ${url} -> ${res.statusCode}`, body: `${JSON.stringify(res.headers)}\n${res.body}` });
    return { status: res.statusCode, body: res.body, json: (() => { try { return JSON.parse(res.body); } catch { return undefined; } })() };
  };

  before(async () => {
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) =>
        new MemoryEngine({
          events: bus,
          openEnv,
          startBehaviour: (_spec, _release, env, log) => {
            seen.push(env);
            log(`env ${JSON.stringify(env)}`);
            for (const [k, v] of Object.entries(env)) log(`${k}=${v}`, "stderr");
            log(`b64 ${Buffer.from(env.CANARY ?? "").toString("base64")}`);
            return "run";
          },
          task: async (spec, { env, log }) => {
            seen.push(env);
            for (const [k, v] of Object.entries(env)) log(`${k}=${v}`);
            return { exitCode: spec.command.includes("fail") ? 1 : 0 };
          },
        }),
    });
    dir = writeProject(join(tempDir(), "birds"), BLUEPRINT, { "server.js": "", "worker.js": "", "migrate.js": "", "fail.js": "" });
  });
  after(() => t.close());

  test("deploy with the canary, a failing build, a failing preDeploy and error paths", async () => {
    // First sync: the secret is missing, so api's deploy fails naming the variable (an error path).
    assert.equal((await call("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir })).status, 202);
    await t.daemon.reconciler.whenIdle();
    const set = await call("PUT", "/v1/projects/birds/environments/production/secrets", { owner: "service:api", values: { CANARY } });
    assert.equal(set.status, 200, set.body);
    await t.daemon.reconciler.whenIdle();
    // The reconciler ends a reconcile after a pass with a failure (broken's build), before
    // applying releases cut in that pass; the next reconcile (resync, or any request) applies them.
    t.daemon.reconciler.request(t.daemon.store.environments.require("birds", "production").id);
    await t.daemon.reconciler.whenIdle();

    const status = await call("GET", "/v1/projects/birds/environments/production");
    const byName = Object.fromEntries(status.json.services.map((s: { name: string; failed: boolean; instances: unknown[] }) => [s.name, s]));
    assert.equal(byName.api.failed, false, status.body);
    assert.equal(byName.api.instances.length, 1);
    assert.equal(byName.broken.failed, true, "the build that prints its env failed");
    assert.equal(byName.migrations.failed, true, "the preDeploy failed");
    const migrations = (await call("GET", "/v1/projects/birds/environments/production/deploys?service=migrations")).json as { step: string; status: string }[];
    assert.ok(migrations.some((d) => d.status === "failed" && d.step === "preDeploy"), JSON.stringify(migrations));
    assert.ok(seen.some((env) => env.CANARY === CANARY && env.AUTH_URL?.includes(CANARY)), "the canary reached the instance");

    // The build ran and printed its environment, without the canary: builds never get secrets.
    const buildLog = t.daemon.store.events.list({ types: ["deploy:build:log"], limit: 5000 }).map((e) => (e.data as { line: string }).line);
    assert.ok(buildLog.some((l) => l.startsWith("PATH=")), "the failing build printed its env");
    assert.ok(buildLog.includes("CANARY="), "the build saw no CANARY");

    // Logs (instances printed their env, in several encodings), masked on the way out.
    for (const s of ["api", "migrations"]) {
      const logs = await call("GET", `/v1/projects/birds/environments/production/services/${s}/logs`);
      assert.equal(logs.status, 200);
    }
    const apiLogs = responses.at(-2)!.body;
    assert.match(apiLogs, /\[redacted:CANARY\]/);

    // Error paths that carry the value in a request.
    await call("PUT", "/v1/projects/birds/environments/production/secrets", { owner: "service:api", values: { "1BAD": CANARY } });
    await call("PUT", "/v1/projects/nope/environments/production/secrets", { owner: "service:api", values: { CANARY } });
    await call("PUT", "/v1/projects/birds/environments/production/secrets", { owner: "robot:x", values: { CANARY } });
    await call("POST", "/v1/sync", { environment: "production", blueprint: `version: 1\nproject: birds\nservices:\n  api: { type: web, start: "${CANARY}", ${CANARY}: 1 }\n`, sourceDir: dir });
    await call("POST", "/v1/sync", { environment: "production", blueprint: CANARY, sourceDir: dir });
    await call("GET", `/v1/projects/birds/environments/production/secrets/service:api/${CANARY.replace(/-/g, "_")}`);
    await call("GET", "/v1/projects/birds/environments/production/secrets/service:api/CANARY", undefined, "berth_wrong");
    // Reads that are fine.
    for (const url of ["/v1/status", "/v1/events?limit=5000", "/v1/audit?limit=5000", "/v1/projects/birds/environments/production/deploys", "/v1/projects/birds/environments/production/secrets", "/openapi.json"]) {
      assert.equal((await call("GET", url)).status, 200, url);
    }
    // The one response allowed to hold it: the owner's audited read.
    const got = await call("GET", "/v1/projects/birds/environments/production/secrets/service:api/CANARY");
    assert.equal(got.json.value, CANARY);
    responses.pop();
  });

  test("0 occurrences in API responses", () => {
    // Masking happened (not just absence): instance logs and an error echoing a field name carried it.
    assert.ok(responses.filter((r) => r.what.startsWith("POST /v1/sync -> 422") && r.body.includes("[redacted:CANARY]")).length === 1, responses.filter((r) => r.body.includes("[redacted:CANARY]")).map((r) => r.what).join("\n"));
    const hits = responses.filter((r) => count(r.body, forms(CANARY)) > 0).map((r) => r.what);
    assert.deepEqual(hits, []);
    assert.ok(responses.length >= 15);
  });

  test("0 occurrences in events", () => {
    const events = JSON.stringify(t.daemon.store.events.list({ limit: 5000 }));
    assert.equal(count(events, forms(CANARY)), 0);
  });

  test("0 occurrences in the SQLite files (db, -wal, -shm; before and after a checkpoint) and the whole data dir", () => {
    const db = join(t.dataDir, "berth.db");
    assert.ok(existsSync(`${db}-wal`), "the WAL file exists and is checked");
    const scan = () => filesUnder(t.dataDir).filter((p) => count(readFileSync(p), forms(CANARY)) > 0);
    assert.deepEqual(scan(), []);
    t.daemon.store.db.sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    assert.deepEqual(scan(), []);
    assert.ok(filesUnder(t.dataDir).length >= 3);
  });
});
