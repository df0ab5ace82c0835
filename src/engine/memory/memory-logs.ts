/**
 * An in-memory log store with follow, shared shape with the local engine's file logs: lines are
 * kept per service, filtered by instance, time and substring, and followed until aborted.
 */
import { EventEmitter, on } from "node:events";
import type { LogLine, LogSelector } from "../engine.ts";
import { serviceKey } from "../engine.ts";

/** True when `line` passes the selector's instance, time and grep filters. */
export function matchesSelector(line: LogLine, selector: LogSelector): boolean {
  if (selector.instance && line.instance !== selector.instance) return false;
  if (selector.sinceMs !== undefined && Date.parse(line.at) < selector.sinceMs) return false;
  if (selector.grep && !line.line.includes(selector.grep)) return false;
  return true;
}

export class MemoryLogs {
  readonly #lines = new Map<string, LogLine[]>();
  readonly #bus = new EventEmitter();
  readonly #maxLinesPerService: number;

  constructor(maxLinesPerService = 10_000) {
    this.#maxLinesPerService = maxLinesPerService;
    this.#bus.setMaxListeners(0);
  }

  append(serviceKeyText: string, line: LogLine): void {
    const list = this.#lines.get(serviceKeyText) ?? [];
    this.#lines.set(serviceKeyText, list);
    list.push(line);
    if (list.length > this.#maxLinesPerService) list.splice(0, list.length - this.#maxLinesPerService);
    this.#bus.emit(serviceKeyText, line);
  }

  /** Existing lines, then (with `follow`) new ones until `selector.signal` aborts. */
  async *read(selector: LogSelector): AsyncGenerator<LogLine> {
    const key = serviceKey(selector.service);
    const signal = selector.signal ?? new AbortController().signal;
    // Subscribe before replaying so no line falls between the two.
    const live = selector.follow ? on(this.#bus, key, { signal }) : undefined;
    for (const line of [...(this.#lines.get(key) ?? [])]) if (matchesSelector(line, selector)) yield line;
    if (!live) return;
    try {
      for await (const [line] of live) if (matchesSelector(line as LogLine, selector)) yield line as LogLine;
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }

  forget(serviceKeyText: string): void {
    this.#lines.delete(serviceKeyText);
  }
}
