/**
 * Seed 003's Python API works with the blueprint's own build and start commands outside Berth:
 * gunicorn with two uvicorn workers bound to $PORT, health on `/`, a postgres:// DATABASE_URL,
 * and an uploaded file that is still served after a redeploy (a new release directory, the same
 * disk). Needs Debian's python3-fastapi, python3-uvicorn, gunicorn, python3-psycopg2, python3-venv.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseBlueprint } from "../../src/blueprint/index.ts";
import { freePort, startPostgres, type TestServer } from "./servers.ts";

const EXAMPLE = join(import.meta.dirname, "../../examples/book-tracker");

function pythonReady(): boolean {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import fastapi, uvicorn, gunicorn, psycopg2, venv"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const skip = pythonReady() ? false : "Debian's python3-fastapi python3-uvicorn gunicorn python3-psycopg2 python3-venv are not installed";

describe("examples: seed 003 (book tracker) FastAPI under gunicorn outside Berth", { skip, timeout: 240_000 }, () => {
  let root: string;
  let postgres: TestServer;
  let disk: string;
  let build: string;
  let start: string;
  let current: ChildProcess | undefined;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Builds a fresh release directory with the blueprint's build command, as a deploy would. */
  function release(name: string): string {
    const dir = join(root, name);
    cpSync(join(EXAMPLE, "apps/api"), dir, { recursive: true, filter: (s) => !/(\.venv|__pycache__)$/.test(s) });
    execFileSync("/bin/sh", ["-c", build], { cwd: dir, stdio: "ignore" });
    return dir;
  }

  async function run(dir: string): Promise<string> {
    await stop(); // one release at a time, as a redeploy of a one-instance service
    const port = await freePort();
    const env = { PATH: "/usr/local/bin:/usr/bin:/bin", PORT: String(port), DATABASE_URL: postgres.url, BERTH_DISK_UPLOADS: disk, CORS_ORIGINS: "http://localhost" };
    current = spawn("/bin/sh", ["-c", start], { cwd: dir, env, stdio: "ignore", detached: true });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const ok = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok).catch(() => false);
      if (ok) return url;
      await sleep(200);
    }
    throw new Error("gunicorn did not answer on /");
  }

  async function stop(): Promise<void> {
    const child = current;
    current = undefined;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid, "SIGTERM"); // the whole group: sh, gunicorn master and workers
    await Promise.race([exited, sleep(10_000).then(() => process.kill(-(child.pid as number), "SIGKILL"))]);
  }

  before(async () => {
    const file = join(EXAMPLE, "berth.yaml");
    const parsed = parseBlueprint(readFileSync(file, "utf8"), { file });
    assert.ok(parsed.ok);
    const api = parsed.blueprint.services.find((s) => s.name === "api");
    assert.ok(api && api.type === "web" && api.build.command && api.start);
    build = api.build.command;
    start = api.start;
    root = mkdtempSync(join(tmpdir(), "berth-ex-py-"));
    disk = join(root, "disk-uploads");
    mkdirSync(disk);
    postgres = await startPostgres();
  });

  after(async () => {
    await stop();
    await postgres?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test("seed 003: gunicorn + uvicorn workers on $PORT answer the health check on / with a postgres:// URL", async () => {
    assert.ok(postgres.url.startsWith("postgres://"));
    const url = await run(release("release-1"));
    const res = await fetch(`${url}/`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; database: { status: string }; uploads: { dir: string } };
    assert.equal(body.status, "ok");
    assert.equal(body.database.status, "up");
    assert.equal(body.uploads.dir, disk);
  });

  test("seed 003: an uploaded cover survives a redeploy (new release, same disk)", async () => {
    let url = await run(release("release-1b"));
    const created = (await (await fetch(`${url}/books`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "Dune" }) })).json()) as { id: number };
    const bytes = Buffer.from("not really a png, but bytes all the same");
    const up = await fetch(`${url}/books/${created.id}/cover?filename=cover.png`, { method: "PUT", body: bytes });
    assert.equal(up.status, 200);
    const { cover } = (await up.json()) as { cover: string };
    assert.deepEqual(readdirSync(disk), [cover]);
    await stop();

    url = await run(release("release-2"));
    const books = (await (await fetch(`${url}/books`)).json()) as { id: number; cover: string }[];
    assert.equal(books.find((b) => b.id === created.id)?.cover, cover);
    const served = await fetch(`${url}/uploads/${cover}`);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
  });
});
