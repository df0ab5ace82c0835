/**
 * The contract of an operation handler (issue 15; docs/design/operations.md). An operation is
 * recorded intent — a row in the store — that the operation runner carries out, one at a time
 * per serialization key. A subsystem teaches the runner a new kind of operation by registering
 * a handler; this file holds only types, so any layer can implement one.
 */

/** Where an operation is serialized and who may see it. */
export interface OperationScope {
  /** One operation at a time runs per key: `git:<project>`, `db:<project>/<env>/<name>`, `env:<project>/<env>`. */
  readonly key: string;
  /** Tokens scoped to other projects do not see it; null for daemon-wide work. */
  readonly project: string | null;
  readonly environment: string | null;
}

/** What a handler's `run` is given. */
export interface OperationContext<P> {
  readonly id: string;
  readonly params: P;
  /** Who recorded it (a token name, `git`, `github`, `system`). */
  readonly actor: string;
  /** 1 on the first start; more when a resumable operation is carried out again after a restart. */
  readonly attempt: number;
  /** Aborted when the operation is cancelled or the daemon stops. */
  readonly signal: AbortSignal;
  /** Records where the operation is (persisted, and emitted as `operation:progress`). */
  progress(step: string, detail?: string, counts?: { readonly done: number; readonly total: number }): void;
}

/**
 * A kind of operation. `run` returns the result (JSON, no secrets) or throws (a BerthError's code
 * and message are recorded). Handlers must never leave work half-applied:
 * - `resumable: true` — running it again from the start is safe (idempotent steps, or it checks
 *   what is already done). An operation interrupted by a daemon kill or stop is run again.
 * - `resumable: false` — an interrupted attempt is not run again: at the next start `recover`
 *   (if given) undoes what the attempt may have left, and the operation is marked `failed`
 *   (BERTH_OPERATION_INTERRUPTED). `run` itself must roll back when its signal aborts.
 */
export interface OperationHandler<P = unknown, R = unknown> {
  readonly kind: string;
  /** Parses params from the entry point and from the stored row (a zod schema fits). */
  readonly params: { parse(input: unknown): P };
  readonly resumable: boolean;
  /**
   * Routine work the daemon records for itself at every beat (provisioning at each resync, data
   * upkeep): recorded, serialized and recovered like any operation, but a success leaves no
   * trail — no `operation:*` events but a failure's, and only the newest succeeded row of its
   * kind and key is kept — so it does not bury the user's operations in history and `status`.
   */
  readonly routine?: boolean;
  scope(params: P): OperationScope;
  run(context: OperationContext<P>): Promise<R>;
  /** Non-resumable kinds: undo an interrupted attempt's leftovers, at start-up, before it is failed. */
  recover?(context: { readonly id: string; readonly params: P; readonly actor: string }): Promise<void>;
}

/** Identity helper that keeps `P` and `R` inferred from the handler's fields. */
export function defineOperation<P, R>(handler: OperationHandler<P, R>): OperationHandler<P, R> {
  return handler;
}
