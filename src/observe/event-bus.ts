/**
 * The event bus: every subsystem emits into it (it is the `EventSink` they are given); it
 * redacts, appends to the store's event log, and fans out to live subscribers (API streams,
 * the CLI's `events -f`, tests). The store is the source of truth; subscribers that fall behind
 * re-read from the log by sequence number.
 */
import type { BerthEvent, EventInput, EventScope, EventSink, EventType } from "../core/events.ts";
import type { Clock } from "../core/clock.ts";
import type { EventRepository } from "../store/repositories/events.ts";

export type Redact = (text: string) => string;

/**
 * Every scoped event carries its project (issue 17: scoped tokens filter on it). Emitters that
 * know an environment only as `project/environment` (the data providers) are split here, so
 * such events are never stored without a project.
 */
export function withProject(scope: EventScope): EventScope {
  if (scope.project || !scope.environment?.includes("/")) return scope;
  const i = scope.environment.indexOf("/");
  return { ...scope, project: scope.environment.slice(0, i), environment: scope.environment.slice(i + 1) };
}

export class EventBus implements EventSink {
  readonly #repo: EventRepository;
  readonly #clock: Clock;
  readonly #listeners = new Set<(e: BerthEvent) => void>();
  #redact: Redact;

  constructor(deps: { repo: EventRepository; clock: Clock; redact?: Redact }) {
    this.#repo = deps.repo;
    this.#clock = deps.clock;
    this.#redact = deps.redact ?? ((s) => s);
  }

  /** Installs the secret redactor once secrets are loaded. */
  setRedactor(redact: Redact): void {
    this.#redact = redact;
  }

  emit<T extends EventType>(event: EventInput<T>): void {
    const data = JSON.parse(this.#redact(JSON.stringify(event.data))) as EventInput<T>["data"];
    const stored = this.#repo.append({ ...event, ...(event.scope ? { scope: withProject(event.scope) } : {}), data }, new Date(this.#clock.now()).toISOString());
    for (const listener of this.#listeners) {
      try {
        listener(stored);
      } catch {
        // A broken subscriber must not break the emitter; it only loses its live view.
      }
    }
  }

  /** Live events from now on. Returns the unsubscribe function. */
  subscribe(listener: (e: BerthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first event matching `predicate` (already logged after `afterSeq`, or live). */
  waitFor(predicate: (e: BerthEvent) => boolean, options: { afterSeq?: number; signal?: AbortSignal } = {}): Promise<BerthEvent> {
    const past = this.#repo.list({ afterSeq: options.afterSeq ?? 0, limit: 5000 }).find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const off = this.subscribe((e) => {
        if (predicate(e)) {
          off();
          resolve(e);
        }
      });
      options.signal?.addEventListener("abort", () => {
        off();
        reject(options.signal?.reason);
      });
    });
  }
}
