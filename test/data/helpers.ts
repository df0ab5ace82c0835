/** Shared helpers for the managed-data end-to-end tests: temp dirs and an event recorder. */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventInput, EventSink, EventType } from "../../src/core/events.ts";

export class RecordingSink implements EventSink {
  readonly events: EventInput[] = [];
  emit<T extends EventType>(event: EventInput<T>): void {
    this.events.push(event as EventInput);
  }
  of<T extends EventType>(type: T): EventInput<T>[] {
    return this.events.filter((e) => e.type === type) as EventInput<T>[];
  }
}

/** A fresh directory the `postgres`/`redis` OS users can traverse (mkdtemp makes it 0700). */
export function tempRoot(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The daemon's tool cache as the PostgreSQL provider gets it (server.ts wires the same), in a
 * fresh directory with its own npm cache: tests install the npm server builds from the registry
 * as a daemon's first run does.
 */
export async function freshPgTools(dir: string): Promise<import("../../src/data/postgres/distribution.ts").PgToolCache> {
  const { ToolCache } = await import("../../src/build/toolchains/tool-cache.ts");
  const { capture } = await import("../../src/build/toolchains/capture.ts");
  const cache = new ToolCache(join(dir, "toolchains"));
  const env = { ...process.env, npm_config_cache: join(dir, "npm-cache") };
  return {
    has: (id) => cache.has(id),
    dir: (id) => cache.dir(id),
    ensure: (id, packages, prepare) => cache.ensure(id, packages, async (argv) => void (await capture(argv, { env, timeoutMs: 10 * 60_000, signal: AbortSignal.timeout(10 * 60_000) })), prepare),
  };
}
