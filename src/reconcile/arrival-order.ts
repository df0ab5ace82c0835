/**
 * Keeps the order in which requests on one key arrived for a step that must happen in that order,
 * while the work before it runs side by side (issue 15: a large sync is prepared in a worker thread
 * and can finish after a small one that arrived later; the later one must still be recorded last).
 */
export interface Turn {
  /** Settles when every earlier request on the key has finished (or failed). */
  readonly ready: Promise<void>;
  /** Ends this request's turn; call it exactly once, also on failure. */
  readonly done: () => void;
}

export class ArrivalOrder {
  readonly #tails = new Map<string, Promise<void>>();

  take(key: string): Turn {
    const ready = this.#tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    const tail = ready.then(() => mine);
    this.#tails.set(key, tail);
    // The map holds only keys with requests in flight.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return { ready, done };
  }
}
