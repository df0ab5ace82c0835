/**
 * The stack the data fault tests run: a real daemon (local engine, HAProxy router, managed
 * PostgreSQL) with seed 000's example (examples/trip-playlists: api-backend, parser-worker and
 * both cron jobs on its database; the PWA left out, it does not touch data), a fast resync so
 * restores race it, the `berth` CLI as a separate process, and a paced writer whose commit
 * timestamps make "rows up to T" exact.
 */
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { request } from "undici";
import { resolveConfig } from "../../src/core/config.ts";
import type { BerthEvent } from "../../src/core/events.ts";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { type Daemon, startDaemon } from "../../src/server.ts";
import { berth as runBerth, scratch } from "../helpers/cli.ts";
import { tempDir } from "../helpers/daemon.ts";

export const SOURCE = fileURLToPath(new URL("../../examples/trip-playlists", import.meta.url));

/** Seed 000's blueprint without the static PWA (a Vite build that never touches the database). */
export function seedBlueprint(): string {
  const text = readFileSync(join(SOURCE, "berth.yaml"), "utf8");
  const start = text.indexOf("\n  pwa:");
  const end = text.indexOf("\ndatabases:");
  return `${text.slice(0, start)}\n${text.slice(end)}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value; the deadline only turns a hang into a failure. */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, deadlineMs = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Stack {
  readonly daemon: Daemon;
  readonly dataDir: string;
  readonly env: string;
  readonly project: string;
  /** `berth <args> --project <p> --env <e>` as a separate process. */
  berth(args: readonly string[]): Promise<Run>;
  /** GET through HAProxy with the service's Host header. */
  get(service: string, path: string): Promise<{ status: number; body: string }>;
  post(service: string, path: string, body: unknown): Promise<{ status: number; body: string }>;
  /** The owner's connection URL of the database, as the services get it now. */
  dbUrl(): Promise<string>;
  events(): BerthEvent[];
  close(): Promise<void>;
}

export async function startStack(opts: { resyncIntervalMs: number; blueprint?: string; dataDir?: string; environment?: string }): Promise<Stack> {
  const port = await freePort();
  const dataDir = opts.dataDir ?? tempDir("berth-faults-");
  const env = opts.environment ?? "development";
  const config = resolveConfig({
    flags: { "data-dir": dataDir, listen: "127.0.0.1:0", engine: "local" },
    env: { BERTH_RESYNC_INTERVAL_MS: String(opts.resyncIntervalMs), BERTH_RECONCILE_RETRY_MS: "200", BERTH_ROUTER: "on", BERTH_HTTP_PORT: String(port), BERTH_HTTPS_PORT: "0" },
    isRoot: false,
  });
  const stateDir = join(dataDir, "engine");
  const daemon = await startDaemon(config, { engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv }), health: httpHealthGate, print: () => {}, listen: true });
  const token = daemon.ownerToken ?? daemon.store.tokens.create({ name: `faults-${Date.now()}`, role: "owner" }, new Date().toISOString()).token;
  const project = "trip-playlists";
  const world = scratch("berth-faults-cli-");
  const inject = async (method: string, url: string, body?: unknown) => {
    const res = await daemon.api.inject({ method: method as "GET", url, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) });
    return { status: res.statusCode, json: res.body ? JSON.parse(res.body) : null };
  };
  const blueprint = opts.blueprint ?? seedBlueprint();
  const synced = await inject("POST", "/v1/sync", { environment: env, blueprint, file: "berth.yaml", sourceDir: SOURCE });
  if (synced.status !== 202) throw new Error(`sync failed: ${JSON.stringify(synced.json)}`);
  await daemon.reconciler.whenIdle();
  const hostOf = async (service: string) => {
    const status = (await inject("GET", `/v1/projects/${project}/environments/${env}`)).json as { services: { name: string; urls: string[] }[] };
    return new URL(status.services.find((s) => s.name === service)!.urls[0]!).host;
  };
  const hosts = new Map<string, string>();
  const host = async (service: string) => {
    if (!hosts.has(service)) hosts.set(service, await hostOf(service));
    return hosts.get(service)!;
  };
  return {
    daemon,
    dataDir,
    env,
    project,
    // The compiled CLI (bin/berth) as users run it, in a private scratch world.
    berth: async (args) => {
      const t0 = Date.now();
      const r = await runBerth([...args, "--project", project, "--env", env], { scratch: world, env: { BERTH_URL: daemon.url, BERTH_TOKEN: token, BERTH_CLI_CONFIG: "/nonexistent/cli.json" } });
      return { ...r, ms: Date.now() - t0 };
    },
    async get(service, path) {
      const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host: await host(service) } });
      return { status: res.statusCode, body: await res.body.text() };
    },
    async post(service, path, body) {
      const res = await request(`http://127.0.0.1:${port}${path}`, { method: "POST", headers: { host: await host(service), "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.statusCode, body: await res.body.text() };
    },
    async dbUrl() {
      return (await inject("GET", `/v1/projects/${project}/environments/${env}/databases/db/url`)).json.url as string;
    },
    events: () => daemon.store.events.list({ afterSeq: 0, limit: 100_000 }),
    async close() {
      await daemon.stop({ stopInstances: true });
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      rmSync(join(world.dir, ".."), { recursive: true, force: true });
    },
  };
}

/**
 * A paced writer: one row into `load_marks` every `everyMs` on the database's current server.
 * `follow(url)` moves it to another server (after a promote); `upTo(T)` lists the ids committed
 * at or before T on the current server, from commit timestamps.
 */
export class Writer {
  #client: pg.Client | undefined;
  #running = true;
  #loop: Promise<void>;
  written = 0;
  errors = 0;

  constructor(everyMs: number) {
    this.#loop = (async () => {
      while (this.#running) {
        const c = this.#client;
        if (c) {
          try {
            await c.query("INSERT INTO load_marks (note) VALUES ($1)", [`w${this.written}`]);
            this.written++;
          } catch {
            this.errors++;
          }
        }
        await sleep(everyMs);
      }
    })();
  }

  async follow(url: string): Promise<void> {
    const c = new pg.Client({ connectionString: url });
    c.on("error", () => {});
    await c.connect();
    await c.query("CREATE TABLE IF NOT EXISTS load_marks (id bigserial PRIMARY KEY, note text NOT NULL)");
    const old = this.#client;
    this.#client = c;
    await old?.end().catch(() => {});
  }

  /** The database clock truncated to milliseconds (restore targets carry milliseconds). */
  async now(): Promise<string> {
    return (await this.#client!.query<{ at: string }>("SELECT to_char(date_trunc('milliseconds', clock_timestamp()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at")).rows[0]!.at;
  }

  async upTo(at: string): Promise<string[]> {
    const r = await this.#client!.query<{ id: string }>("SELECT id::text FROM load_marks WHERE pg_xact_commit_timestamp(xmin) <= $1::timestamptz ORDER BY id", [at]);
    return r.rows.map((x) => x.id);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#client?.end().catch(() => {});
  }
}

/** Ids in `load_marks` on the server at `url`. */
export async function marksAt(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => {});
  await c.connect();
  try {
    return (await c.query<{ id: string }>("SELECT id::text FROM load_marks ORDER BY id")).rows.map((x) => x.id);
  } finally {
    await c.end().catch(() => {});
  }
}
