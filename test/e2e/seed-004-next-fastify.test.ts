/**
 * Seed 004 (examples/next-fastify) end to end on the local engine behind the real router, in the
 * `staging` environment (the blueprint's overrides: api replicas 1): the Fastify API's /health is
 * verified before the switch, migrations run as the preDeploy one-off before traffic moves, Redis
 * is a cache (x-cache miss then hit), and only the API gets a DATABASE_URL. Production is not
 * deployed here (it needs approval and doubles the run time).
 *
 * Issue 22: the API is a private service. The Next.js web reaches it at its internal address
 * (`fromService api.url`) through 10 redeploys of the API under load with 0 failed requests; the
 * public router does not route it, and another project's processes cannot connect to it. The
 * test itself (root, not a project) talks to the API at its internal address.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { InternalAddressRepository } from "../../src/store/repositories/internal-addresses.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

/** Another project: connects where it is told and reports (the cross-project probe). */
const PROBE_PROJECT = "s22probe";
const PROBE = `require("node:http").createServer((q, s) => {
  const u = new URL(q.url, "http://x");
  if (u.pathname !== "/connect") return s.end("ok");
  const c = require("node:net").connect({ host: u.searchParams.get("host"), port: Number(u.searchParams.get("port")) }, () => { c.destroy(); s.end("connected"); });
  c.on("error", (e) => s.end("error:" + e.code));
  c.setTimeout(3000, () => { c.destroy(); s.end("error:timeout"); });
}).listen(Number(process.env.PORT));
`;

const SOURCE = fileURLToPath(new URL("../../examples/next-fastify", import.meta.url));
const ENV = "/v1/projects/next-fastify/environments/staging";

interface Status {
  status: string;
  services: { name: string; urls: string[] }[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The environment a running process was started with (tests run as root). */
function processEnv(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, "utf8");
  return Object.fromEntries(
    raw
      .split("\0")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

describe("seed 004 next-fastify on Berth (staging)", () => {
  let t: TestDaemon;
  let port: number;
  let status: Status;
  let blueprint: string;
  const hostOf = (service: string) => new URL(status.services.find((s) => s.name === service)!.urls[0]!).host;
  const apiAddress = () => new InternalAddressRepository(t.daemon.store.db).get("next-fastify", "staging", "api")!;
  /** A request through HAProxy with the service's generated Host header. */
  const viaRouter = async (service: string, path: string, body?: unknown, host = hostOf(service)) => {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { host, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
  };
  /** The private API at its internal address (the router's internal listener), as the web reaches it. */
  const viaInternal = async (path: string, body?: unknown) => {
    const res = await request(`http://${apiAddress()}:10000${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { host: "api.staging.internal", ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
  };

  before(async () => {
    port = await freePort();
    const stateDir = tempDir();
    t = await startTestDaemon({
      engine: ({ bus, openEnv, redact, loopback }) => new LocalEngine({ stateDir, events: bus, openEnv, redact, ...(loopback ? { loopback } : {}) }),
      health: httpHealthGate,
      routerHttpPort: port,
    });
    blueprint = readFileSync(join(SOURCE, "berth.yaml"), "utf8");
    const r = await t.request("POST", "/v1/sync", { environment: "staging", blueprint, file: "berth.yaml", sourceDir: SOURCE });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const probeBlueprint = `version: 1\nproject: ${PROBE_PROJECT}\nservices:\n  web: { type: web, start: node probe.js, health: /health }\n`;
    const probeDir = writeProject(join(tempDir(), PROBE_PROJECT), probeBlueprint, { "probe.js": PROBE });
    const p = await t.request("POST", "/v1/sync", { environment: "production", blueprint: probeBlueprint, sourceDir: probeDir });
    assert.equal(p.status, 202, JSON.stringify(p.json));
    await t.daemon.reconciler.whenIdle();
    status = (await t.request("GET", ENV)).json;
  });
  after(() => t?.close());

  test("seed 004: the Fastify API's /health is verified before the switch and answers at its internal address", async () => {
    assert.equal(status.status, "live", JSON.stringify(status));
    const deploys = (await t.request("GET", `${ENV}/deploys?service=api`)).json as { status: string; steps: { step: string; detail: string }[] }[];
    const first = deploys.at(-1)!;
    assert.equal(first.status, "live", JSON.stringify(first));
    const names = first.steps.map((s) => s.step);
    const gate = names.findIndex((n) => /health|gate/i.test(n));
    const sw = names.findIndex((n) => /switch/i.test(n));
    assert.ok(gate >= 0 && sw > gate, `steps: ${names.join(", ")}`);
    const health = await viaInternal("/health");
    assert.equal(health.status, 200, health.body);
    const body = JSON.parse(health.body);
    assert.equal(body.database.status, "up", health.body);
    assert.equal(body.redis.status, "up", health.body);
  });

  test("seed 004: migrations run as the preDeploy one-off before traffic moves", async () => {
    const deploys = (await t.request("GET", `${ENV}/deploys?service=api`)).json as { steps: { step: string; at: string }[] }[];
    const steps = deploys.at(-1)!.steps;
    const names = steps.map((s) => s.step);
    const pre = names.findIndex((n) => /pre-?deploy/i.test(n));
    const sw = names.findIndex((n) => /switch/i.test(n));
    assert.ok(pre >= 0 && sw > pre, `steps: ${names.join(", ")}`);
    const url = (await t.request("GET", `${ENV}/databases/db/url`)).json.url as string;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT max(applied_at) AS last, count(*)::int AS n FROM migrations");
      assert.ok(rows[0].n >= 1);
      assert.ok(rows[0].last.getTime() <= Date.parse(steps[sw]!.at), "the migrations were applied before the switch");
      await client.query("SELECT 1 FROM notes LIMIT 1");
    } finally {
      await client.end();
    }
  });

  test("seed 004: Redis is a cache: GET /notes misses, then hits; a write invalidates", async () => {
    const created = await viaInternal("/notes", { body: "hello from the seed 004 test" });
    assert.equal(created.status, 201, created.body);
    const first = await viaInternal("/notes");
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers["x-cache"], "miss");
    const second = await viaInternal("/notes");
    assert.equal(second.headers["x-cache"], "hit");
    assert.deepEqual(JSON.parse(second.body), JSON.parse(first.body));
    assert.ok(JSON.parse(second.body).notes.some((n: { body: string }) => n.body === "hello from the seed 004 test"));
  });

  test("seed 004: Postgres is reachable only from the API: the web service has no DATABASE_URL", async () => {
    const actual = await t.daemon.engine.actual({ project: "next-fastify", environment: "staging" });
    const pidOf = (service: string) => actual.find((s) => s.ref.service === service)?.instances.find((i) => i.state !== "exited" && i.pid)?.pid;
    const apiPid = pidOf("api");
    const webPid = pidOf("web");
    assert.ok(apiPid && webPid, JSON.stringify(actual.map((s) => [s.ref.service, s.instances.map((i) => i.pid)])));
    assert.match(processEnv(apiPid).DATABASE_URL ?? "", /^postgres(ql)?:\/\//);
    const webEnv = processEnv(webPid);
    assert.equal(webEnv.DATABASE_URL, undefined);
    assert.equal(webEnv.REDIS_URL, undefined);
    // And the database refuses a connection without the password.
    const url = new URL((await t.request("GET", `${ENV}/databases/db/url`)).json.url as string);
    url.password = "";
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
    client.on("error", () => {});
    await assert.rejects(client.connect(), /password|authentication/i);
    await client.end().catch(() => {});
  });

  test("seed 004: the Next.js web answers 200 through the router", async () => {
    const web = await viaRouter("web", "/");
    assert.equal(web.status, 200, web.body.slice(0, 300));
  });

  /** The web's page, with the API's health as the web saw it (React escapes the JSON's quotes). */
  const webPage = async () => {
    const r = await viaRouter("web", "/").catch((e: Error) => ({ status: 0, body: e.message, headers: {} }));
    const json = /<pre id="api-health">([\s\S]*?)<\/pre>/.exec(r.body)?.[1]?.replaceAll("&quot;", '"').replaceAll("&amp;", "&");
    return { status: r.status, apiStatus: json ? (JSON.parse(json).status as number | undefined) : undefined, body: json ?? r.body.slice(0, 300), html: r.body };
  };

  test("issue 22: the API is private: no public URL, not routed, refused to another project; the web reaches it by name", async () => {
    assert.deepEqual(status.services.find((s) => s.name === "api")?.urls ?? [], []);
    const routed = await viaRouter("api", "/health", undefined, "api-staging-next-fastify.localhost");
    assert.equal(routed.status, 404, routed.body);
    const probe = (path: string) => viaRouter("web", path, undefined, `web-production-${PROBE_PROJECT}.localhost`);
    assert.equal((await probe("/health")).status, 200);
    assert.match((await probe(`/connect?host=${apiAddress()}&port=10000`)).body, /^error:(ECONNREFUSED|ECONNRESET)/);
    const page = await webPage();
    assert.equal(page.apiStatus, 200, page.body.slice(0, 500));
    assert.match(page.html, /http:\/\/api\.staging\.internal:10000/);
  });

  test("issue 22: the web reaches the private API by its internal address through 10 redeploys of the API under load, 0 failed", { timeout: 900_000 }, async () => {
    let ok = 0;
    let stop = false;
    const failures: string[] = [];
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const p = await webPage();
        if (p.status === 200 && p.apiStatus === 200) ok++;
        else failures.push(`${new Date().toISOString()} ${p.status} api=${p.apiStatus} ${p.body.replace(/\s+/g, " ").slice(0, 400)}`);
      }
    });
    const t0 = Date.now();
    for (let n = 1; n <= 10; n++) {
      const cors = "      CORS_ORIGIN: $" + "{web.publicUrl}\n";
      const next = blueprint.replace(cors, `${cors}      REDEPLOY: "${n}"\n`);
      assert.notEqual(next, blueprint);
      const r = await t.request("POST", "/v1/sync", { environment: "staging", blueprint: next, file: "berth.yaml", sourceDir: SOURCE });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      await t.daemon.reconciler.whenIdle();
    }
    const ms = Date.now() - t0;
    stop = true;
    await Promise.all(clients);
    const deploys = (await t.request("GET", `${ENV}/deploys?service=api`)).json as { status: string }[];
    assert.ok(deploys.filter((d) => d.status === "live").length >= 11, JSON.stringify(deploys.map((d) => d.status)));
    const line = `seed 004, private API: 10 redeploys under load (4 clients: router -> Next.js web -> api.staging.internal): ${ok} page loads, ${failures.length} failed, ${ms} ms`;
    console.log(line);
    if (process.env.BERTH_FAILURES_OUT) writeFileSync(process.env.BERTH_FAILURES_OUT, failures.join("\n"));
    assert.deepEqual(failures.slice(0, 3), [], `${failures.length} failed of ${ok + failures.length}`);
    assert.ok(ok >= 20, `${ok} page loads`);
  });
});
