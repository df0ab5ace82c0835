/**
 * Test helpers: a real daemon (store, secrets, reconciler, API) in a fresh data dir, with the
 * memory engine unless a test asks for another. Requests go through `inject()` or over loopback.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../../src/core/config.ts";
import { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { type Daemon, type DaemonOptions, startDaemon } from "../../src/server.ts";

export interface TestDaemon {
  readonly daemon: Daemon;
  readonly dataDir: string;
  readonly token: string;
  request(method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; json: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export function tempDir(prefix = "berth-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestDaemon(options: DaemonOptions & { dataDir?: string; listen?: boolean; routerHttpPort?: number; routerHttpsPort?: number; configEnv?: Record<string, string> } = {}): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? tempDir();
  const config = resolveConfig({
    flags: { "data-dir": dataDir, listen: "127.0.0.1:0", engine: "memory" },
    // No router unless a test asks (it binds real ports): tests run in parallel.
    env: { BERTH_RESYNC_INTERVAL_MS: "600000", BERTH_RECONCILE_RETRY_MS: "50", BERTH_ROUTER: options.routerHttpPort ? "on" : "off", BERTH_HTTP_PORT: String(options.routerHttpPort ?? 0), BERTH_HTTPS_PORT: String(options.routerHttpsPort ?? 0), ...options.configEnv },
    isRoot: false,
  });
  const daemon = await startDaemon(config, {
    engine: ({ bus, openEnv }) => new MemoryEngine({ events: bus, openEnv }),
    print: () => {},
    // Memory instances have no real sockets: alive is healthy.
    health: { wait: async (instance) => (instance.alive() ? { ok: true, detail: "alive" } : { ok: false, detail: "exited" }) },
    listen: options.listen ?? false,
    ...options,
  });
  const token = daemon.ownerToken ?? daemon.store.tokens.create({ name: `test-${Date.now()}`, role: "owner" }, new Date().toISOString()).token;
  return {
    daemon,
    dataDir,
    token,
    async request(method, url, body, t = token) {
      const res = await daemon.api.inject({
        method: method as "GET",
        url,
        headers: t ? { authorization: `Bearer ${t}` } : {},
        ...(body !== undefined ? { payload: body as object } : {}),
      });
      let json: unknown = null;
      try {
        json = res.body ? JSON.parse(res.body) : null;
      } catch {
        json = res.body;
      }
      return { status: res.statusCode, json, headers: res.headers };
    },
    async close() {
      await daemon.stop({ stopInstances: true });
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A small project directory with a berth.yaml and one tiny Node service per entry. */
export function writeProject(dir: string, yaml: string, files: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "berth.yaml"), yaml);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
