/**
 * Seed 003 (examples/book-tracker) end to end on the local engine behind the real router: the
 * FastAPI app under gunicorn + uvicorn workers bound to $PORT answers its health check on `/`,
 * accepts a `postgres://` DATABASE_URL, keeps an uploaded cover on its persistent disk across a
 * redeploy, and the Vite front end serves as a static site. The example is copied to a temp dir
 * so the test can change a file and sync again.
 */
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir } from "../helpers/daemon.ts";

const EXAMPLE = fileURLToPath(new URL("../../examples/book-tracker", import.meta.url));
const ENV = "/v1/projects/book-tracker/environments/development";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

type Status = { status: string; services: { name: string; release: number | null; urls: string[]; instances: { pid: number | null; port: number | null }[] }[] };

describe("seed 003 book-tracker on Berth", () => {
  let t: TestDaemon;
  let port: number;
  let dir: string;
  let status: Status;
  const host = (service: string) => new URL(status.services.find((s) => s.name === service)!.urls[0]!).host;
  const viaRouter = async (service: string, path: string, init: { method?: "PUT" | "POST"; body?: string | Buffer; type?: string } = {}) => {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: init.method ?? "GET",
      headers: { host: host(service), ...(init.type ? { "content-type": init.type } : {}) },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()), headers: res.headers };
  };
  const sync = async (blueprint: string) => {
    const r = await t.request("POST", "/v1/sync", { environment: "development", blueprint, file: "berth.yaml", sourceDir: dir });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    await t.daemon.reconciler.whenIdle();
    status = (await t.request("GET", ENV)).json;
    if (status.status !== "live") console.log(JSON.stringify((await t.request("GET", `${ENV}/deploys`)).json, null, 1).slice(0, 6000));
  };

  before(async () => {
    port = await freePort();
    const stateDir = tempDir();
    t = await startTestDaemon({
      engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv }),
      health: httpHealthGate,
      routerHttpPort: port,
    });
    dir = join(tempDir(), "book-tracker");
    cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/\/(node_modules|\.venv|dist|__pycache__)$/.test(src) });
    await sync(readFileSync(join(dir, "berth.yaml"), "utf8"));
  });
  after(() => t?.close());

  test("seed 003: gunicorn + uvicorn workers bound to $PORT answer the health check on / through the router", async () => {
    assert.equal(status.status, "live", JSON.stringify(status));
    const api = status.services.find((s) => s.name === "api")!;
    assert.ok(api.instances[0]?.port, JSON.stringify(api));
    const health = await viaRouter("api", "/");
    assert.equal(health.status, 200, health.body.toString());
    const body = JSON.parse(health.body.toString());
    assert.equal(body.status, "ok");
    assert.equal(body.database.status, "up");
    assert.equal(health.headers.server, "uvicorn", "answered by a uvicorn worker");
    // The gunicorn master was started with $PORT expanded to the instance's port.
    const cmdlines = readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .map((d) => {
        try {
          return readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ");
        } catch {
          return "";
        }
      });
    const gunicorn = cmdlines.filter((c) => c.includes("gunicorn") && c.includes(`--bind 0.0.0.0:${api.instances[0]!.port}`));
    assert.ok(gunicorn.length >= 1, "a gunicorn process bound to the instance's $PORT");
    assert.match(gunicorn[0]!, /-k uvicorn\.workers\.UvicornWorker .*--workers 2/);
  });

  test("seed 003: the Vite static front end serves through the router", async () => {
    const index = await viaRouter("web", "/");
    assert.equal(index.status, 200);
    assert.match(index.body.toString(), /<div id="root">/);
    const deep = await viaRouter("web", "/books/7");
    assert.equal(deep.status, 200);
    assert.deepEqual(deep.body, index.body, "SPA fallback to index.html");
  });

  test("seed 003: an upload on the persistent disk survives a redeploy that uses a postgres:// DATABASE_URL", async () => {
    const book = await viaRouter("api", "/books", { method: "POST", body: JSON.stringify({ title: "Dune" }), type: "application/json" });
    assert.equal(book.status, 201, book.body.toString());
    const { id } = JSON.parse(book.body.toString());
    const cover = Buffer.from(`cover of book ${id} ${Date.now()}`);
    const up = await viaRouter("api", `/books/${id}/cover?filename=dune.png`, { method: "PUT", body: cover, type: "application/octet-stream" });
    assert.equal(up.status, 200, up.body.toString());
    const { cover: name } = JSON.parse(up.body.toString());
    const before = status.services.find((s) => s.name === "api")!.release!;

    // Change a file and sync again, this time with a Render-style postgres:// URL.
    writeFileSync(join(dir, "apps/api/app/VERSION"), "2\n");
    const blueprint = readFileSync(join(dir, "berth.yaml"), "utf8").replace(
      "DATABASE_URL: { fromDatabase: db.connectionString }",
      `DATABASE_URL: "postgres://\${db.user}:\${db.password}@\${db.hostport}/\${db.database}"`,
    );
    assert.match(blueprint, /postgres:\/\/\$\{db\.user\}/);
    await sync(blueprint);
    assert.equal(status.status, "live", JSON.stringify(status));
    const after = status.services.find((s) => s.name === "api")!.release!;
    assert.ok(after > before, `a new release (${before} -> ${after})`);

    const health = JSON.parse((await viaRouter("api", "/")).body.toString());
    assert.equal(health.database.status, "up", "the postgres:// URL is accepted");
    const got = await viaRouter("api", `/uploads/${name}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, cover, "the upload is still served after the redeploy");
    const books = JSON.parse((await viaRouter("api", "/books")).body.toString()) as { id: number; cover: string | null }[];
    assert.equal(books.find((b) => b.id === id)?.cover, name);
  });
});
