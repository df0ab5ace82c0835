/**
 * The operation runner (issue 15): carries out recorded operations, strictly one at a time per
 * serialization key, a few keys side by side. Entry points call `enqueue` (a row is written and
 * its id returned; nothing runs inside the request); the runner claims pending rows from the
 * store, runs their handler with an AbortSignal and a progress reporter, and records the
 * outcome. The store is the queue, so a killed daemon loses nothing: at `start` every operation
 * left `running` is resumed (resumable kinds) or recovered and failed cleanly (the others).
 * Design: docs/design/operations.md.
 */
import type { Clock } from "../core/clock.ts";
import { BerthError, toBerthError } from "../core/errors.ts";
import type { EventSink } from "../core/events.ts";
import type { OperationContext, OperationHandler } from "../core/operations.ts";
import type { OperationError, OperationRepository, OperationRow } from "../store/repositories/operations.ts";

export interface OperationRunnerDeps {
  readonly repo: OperationRepository;
  readonly events: EventSink;
  readonly clock: Clock;
  /** Operations of different keys running at once. */
  readonly concurrency?: number;
  /** A resumable operation is started at most this many times (a kind that kills the daemon must not loop). */
  readonly maxAttempts?: number;
  /** Finished operations kept as history (pruned at start). */
  readonly keepFinished?: number;
}

export interface EnqueueOptions {
  readonly actor: string;
  /**
   * Return an existing operation instead of recording a new one: `pending` — one with the same
   * kind, key and params that has not started (it will see the latest state when it does);
   * `unfinished` — pending or running (the params pin everything, e.g. an exact commit).
   */
  readonly dedupe?: "pending" | "unfinished";
}

interface Running {
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

/** Why a running operation's signal was aborted. */
type AbortWhy = { readonly why: "stop" } | { readonly why: "cancel"; readonly actor: string };

const errorOf = (e: unknown): OperationError => {
  const err = toBerthError(e);
  return { code: err.code, message: err.message, hint: err.hint };
};

export class OperationRunner {
  readonly #d: OperationRunnerDeps;
  // biome-ignore lint/suspicious/noExplicitAny: handlers of every params/result type share one registry
  readonly #handlers = new Map<string, OperationHandler<any, any>>();
  readonly #running = new Map<string, Running>();
  readonly #waiters = new Map<string, Set<(row: OperationRow) => void>>();
  readonly #idleWaiters = new Set<() => void>();
  #started = false;
  #stopping = false;

  constructor(deps: OperationRunnerDeps) {
    this.#d = deps;
  }

  #now(): string {
    return new Date(this.#d.clock.now()).toISOString();
  }

  /** Teaches the runner a kind of operation. Register every kind before `start`. */
  register<P, R>(handler: OperationHandler<P, R>): void {
    if (this.#handlers.has(handler.kind)) throw new BerthError("BERTH_INTERNAL", { detail: `operation kind '${handler.kind}' registered twice` });
    this.#handlers.set(handler.kind, handler);
  }

  /**
   * Records an operation and returns its row; it runs once the runner has started and its key
   * is free. Invalid params throw BERTH_BAD_REQUEST here, in the entry point's request.
   */
  enqueue(kind: string, params: unknown, options: EnqueueOptions): OperationRow {
    const handler = this.#handlers.get(kind);
    if (!handler) throw new BerthError("BERTH_INTERNAL", { detail: `no handler for operation kind '${kind}'` });
    const parsed = parseParams(handler, params);
    const scope = handler.scope(parsed);
    if (options.dedupe) {
      const same = this.#d.repo.findSame(kind, scope.key, parsed, options.dedupe === "pending" ? ["pending"] : ["pending", "running"]);
      if (same) return same;
    }
    const row = this.#d.repo.create({ kind, key: scope.key, project: scope.project, environment: scope.environment, params: parsed, createdBy: options.actor }, this.#now());
    if (!handler.routine) this.#emit(row, { type: "operation:queued", data: ref(row) }, options.actor);
    this.#pump();
    return row;
  }

  /** Recovers what a previous daemon left, prunes history, and starts carrying operations out. */
  async start(): Promise<void> {
    const { repo } = this.#d;
    for (const row of repo.inState("running")) await this.#recover(row);
    for (const row of repo.inState("pending")) {
      if (!this.#handlers.has(row.kind)) this.#fail(row, new BerthError("BERTH_OPERATION_UNKNOWN_KIND", { operation: row.id, kind: row.kind }), 0);
    }
    repo.prune(this.#d.keepFinished ?? 2000);
    this.#started = true;
    this.#stopping = false;
    this.#pump();
  }

  /**
   * Aborts what runs and waits for it to settle. Resumable operations go back to `pending` and
   * run again at the next start; the others end `failed` (their handler rolled back on abort).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const r of this.#running.values()) r.abort.abort({ why: "stop" } satisfies AbortWhy);
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
    this.#started = false;
  }

  /** Cancels a pending operation at once; a running one gets its signal aborted. */
  cancel(id: string, actor: string): OperationRow {
    const row = this.#d.repo.byId(id);
    if (!row) throw new BerthError("BERTH_NOT_FOUND", { kind: "operation", name: id });
    if (row.state !== "pending" && row.state !== "running") throw new BerthError("BERTH_OPERATION_FINISHED", { operation: id, state: row.state });
    this.#d.repo.requestCancel(id, this.#now());
    const running = this.#running.get(id);
    if (running) running.abort.abort({ why: "cancel", actor } satisfies AbortWhy);
    else if (this.#d.repo.finish(id, "cancelled", { error: errorOf(new BerthError("BERTH_OPERATION_CANCELLED", { operation: id, kind: row.kind, actor })) }, this.#now())) {
      this.#emit(row, { type: "operation:cancelled", data: { ...ref(row), reason: `cancelled by ${actor}` } }, actor);
      this.#settled(id);
    }
    return this.#d.repo.byId(id)!;
  }

  /** Resolves with the row once the operation has finished (in this process). */
  wait(id: string): Promise<OperationRow> {
    const row = this.#d.repo.byId(id);
    if (!row) return Promise.reject(new BerthError("BERTH_NOT_FOUND", { kind: "operation", name: id }));
    if (row.state !== "pending" && row.state !== "running") return Promise.resolve(row);
    return new Promise((resolve) => {
      const set = this.#waiters.get(id) ?? new Set();
      set.add(resolve);
      this.#waiters.set(id, set);
    });
  }

  /** Resolves when nothing runs and nothing that could run is pending (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.#idle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  #idle(): boolean {
    if (this.#running.size > 0) return false;
    if (!this.#started) return true;
    return this.#d.repo.inState("pending").every((r) => !this.#handlers.has(r.kind));
  }

  #pump(): void {
    if (!this.#started || this.#stopping) return;
    const limit = this.#d.concurrency ?? 4;
    while (this.#running.size < limit) {
      const row = this.#d.repo.claimNext([...this.#handlers.keys()], this.#now());
      if (!row) break;
      this.#launch(row);
    }
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#idleWaiters.size === 0 || !this.#idle()) return;
    for (const w of this.#idleWaiters) w();
    this.#idleWaiters.clear();
  }

  #launch(row: OperationRow): void {
    const handler = this.#handlers.get(row.kind)!;
    const abort = new AbortController();
    const started = this.#d.clock.now();
    const quiet = handler.routine === true;
    if (!quiet) this.#emit(row, { type: "operation:started", data: { ...ref(row), attempt: row.attempts } });
    const done = (async () => {
      let live = true;
      const context: OperationContext<unknown> = {
        id: row.id,
        params: undefined,
        actor: row.createdBy,
        attempt: row.attempts,
        signal: abort.signal,
        progress: (step, detail = "", counts) => {
          if (!live) return;
          const at = this.#now();
          this.#d.repo.setProgress(row.id, { step, detail, ...(counts ? { done: counts.done, total: counts.total } : {}), at });
          if (!quiet) this.#emit(row, { type: "operation:progress", data: { ...ref(row), step, detail, ...(counts ? { done: counts.done, total: counts.total } : {}) } });
        },
      };
      try {
        const params = parseParams(handler, row.params);
        const result = await handler.run({ ...context, params });
        live = false;
        if (this.#d.repo.finish(row.id, "succeeded", { result: result ?? null }, this.#now())) {
          if (quiet) this.#d.repo.pruneSucceeded(row.kind, row.key, row.id);
          else this.#emit(row, { type: "operation:succeeded", data: { ...ref(row), ms: this.#d.clock.now() - started } });
        }
      } catch (e) {
        live = false;
        const why = abort.signal.aborted ? (abort.signal.reason as AbortWhy | undefined) : undefined;
        if (why?.why === "cancel") {
          const err = new BerthError("BERTH_OPERATION_CANCELLED", { operation: row.id, kind: row.kind, actor: why.actor });
          if (this.#d.repo.finish(row.id, "cancelled", { error: errorOf(err) }, this.#now())) {
            this.#emit(row, { type: "operation:cancelled", data: { ...ref(row), reason: `cancelled by ${why.actor}` } }, why.actor);
          }
        } else if (why?.why === "stop" && handler.resumable) {
          this.#d.repo.requeue(row.id, this.#now());
          this.#emit(row, { type: "operation:resumed", data: { ...ref(row), attempt: row.attempts, reason: "the daemon stopped during it; it runs again at the next start" } });
        } else if (why?.why === "stop") {
          this.#fail(row, new BerthError("BERTH_OPERATION_INTERRUPTED", { operation: row.id, kind: row.kind, detail: "the daemon stopped during it" }), started);
        } else {
          this.#fail(row, e, started);
        }
      } finally {
        this.#running.delete(row.id);
        this.#settled(row.id);
        this.#pump();
      }
    })();
    this.#running.set(row.id, { abort, done });
  }

  /** An operation a killed daemon left `running`: run it again, or undo and fail it. */
  async #recover(row: OperationRow): Promise<void> {
    const handler = this.#handlers.get(row.kind);
    if (!handler) {
      this.#fail(row, new BerthError("BERTH_OPERATION_UNKNOWN_KIND", { operation: row.id, kind: row.kind }), 0);
      return;
    }
    if (handler.resumable && row.attempts < (this.#d.maxAttempts ?? 3)) {
      this.#d.repo.requeue(row.id, this.#now());
      this.#emit(row, { type: "operation:resumed", data: { ...ref(row), attempt: row.attempts + 1, reason: "the daemon stopped during it" } });
      return;
    }
    let detail = handler.resumable ? `the daemon stopped during it ${row.attempts} times` : "the daemon stopped during it";
    try {
      if (handler.recover) await handler.recover({ id: row.id, params: parseParams(handler, row.params), actor: row.createdBy });
      if (handler.recover) detail += "; what it had started was undone";
    } catch (e) {
      detail += `; undoing it failed: ${toBerthError(e).message}`;
    }
    this.#fail(row, new BerthError("BERTH_OPERATION_INTERRUPTED", { operation: row.id, kind: row.kind, detail }), 0);
  }

  #fail(row: OperationRow, e: unknown, started: number): void {
    const error = errorOf(e);
    if (!this.#d.repo.finish(row.id, "failed", { error }, this.#now())) return;
    const ms = started ? this.#d.clock.now() - started : 0;
    this.#emit(row, { type: "operation:failed", data: { ...ref(row), code: error.code, reason: error.message, ms } });
    this.#settled(row.id);
  }

  #settled(id: string): void {
    const set = this.#waiters.get(id);
    if (!set) return;
    const row = this.#d.repo.byId(id);
    if (!row || row.state === "pending" || row.state === "running") return;
    this.#waiters.delete(id);
    for (const w of set) w(row);
  }

  #emit(row: OperationRow, event: Parameters<EventSink["emit"]>[0], actor = row.createdBy): void {
    const scope = { ...(row.project ? { project: row.project } : {}), ...(row.environment ? { environment: row.environment } : {}) };
    this.#d.events.emit({ ...event, scope, actor });
  }
}

const ref = (row: OperationRow) => ({ operation: row.id, kind: row.kind, key: row.key });

function parseParams<P>(handler: OperationHandler<P, unknown>, input: unknown): P {
  try {
    return handler.params.parse(input);
  } catch (e) {
    const issues = (e as { issues?: { path: (string | number)[]; message: string }[] }).issues;
    const first = issues?.[0];
    const detail = first ? `${[handler.kind, ...first.path].join(".")}: ${first.message}` : toBerthError(e).message;
    throw new BerthError("BERTH_BAD_REQUEST", { detail }, { cause: e });
  }
}
