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
