/**
 * One operation at a time on a server: restore, promote, drill, backup, upkeep and the
 * reconciler's provisioning of the same server never run side by side (two of them at once is
 * how concurrent GRANTs failed with "tuple concurrently updated" and two Redis starts raced for
 * one port). A FIFO async mutex; the persisted operations table serializes the entry points
 * above it, this keeps the provider safe for any caller.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  #held = 0;

  /** Runs `fn` after every earlier caller finished (whether it succeeded or failed). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(
      () => {
        this.#held++;
        return fn().finally(() => this.#held--);
      },
      () => {
        this.#held++;
        return fn().finally(() => this.#held--);
      },
    );
    this.#tail = result.catch(() => {});
    return result;
  }

  /** True while an operation holds the lock. */
  get busy(): boolean {
    return this.#held > 0;
  }
}
