/**
 * Cooperative scheduling for long control-plane work (issue 15): the daemon is one event loop,
 * and a loop over thousands of services that only awaits resolved promises never lets an HTTP
 * request in. No I/O here: timers only.
 */

/** Gives the event loop a turn (timers, sockets), not just the microtask queue. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `fn` over `items`, at most `limit` at once, yielding to the loop between items. */
export async function bounded<T>(items: readonly T[], limit: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++]!;
      await fn(item);
      await yieldToLoop();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
