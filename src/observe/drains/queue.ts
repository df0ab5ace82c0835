/**
 * A drain's bounded buffer: lines wait here until the sender has delivered them, in order. A
 * failed batch is retried (backoff from `retryMs` doubling to `maxRetryMs`) before anything
 * newer is sent, so a receiver that was down gets every buffered line in order once it is back.
 * When the buffer is full the oldest lines are dropped and counted; the drain reports it.
 */
export interface DrainRecord {
  readonly time: string;
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly instance: string;
  readonly stream: "stdout" | "stderr";
  readonly message: string;
  /** The line's fields when it is a JSON object (structured app logs). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

export interface DrainQueueOptions {
  readonly name: string;
  readonly send: (batch: readonly DrainRecord[], signal: AbortSignal) => Promise<void>;
  /** Default 10 000 lines. */
  readonly maxLines?: number;
  /** Default 500 lines per request. */
  readonly batchLines?: number;
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly onDropped?: (lines: number) => void;
  /** The first failure of an outage (`reason`: the error's message, or `describe`'s). */
  readonly onError?: (reason: string, pending: number) => void;
  /** How a failure is told in `onError` (default: its message). */
  readonly describe?: (error: unknown) => string;
  readonly onRecovered?: (downMs: number, delivered: number) => void;
}

export class DrainQueue {
  readonly #o: DrainQueueOptions;
  #lines: DrainRecord[] = [];
  #dropped = 0;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #abort = new AbortController();
  #downSince: number | undefined;

  constructor(options: DrainQueueOptions) {
    this.#o = options;
  }

  get pending(): number {
    return this.#lines.length;
  }

  /** Lines dropped because the buffer was full, since start. */
  get dropped(): number {
    return this.#dropped;
  }

  push(records: readonly DrainRecord[]): void {
    if (this.#abort.signal.aborted) return;
    this.#lines.push(...records);
    const max = this.#o.maxLines ?? 10_000;
    if (this.#lines.length > max) {
      const over = this.#lines.length - max;
      this.#lines.splice(0, over);
      this.#dropped += over;
      this.#o.onDropped?.(over);
    }
    this.#wake?.();
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  /** Stops sending; waits up to `graceMs` for the buffer to empty first. */
  async stop(graceMs = 2000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.#lines.length > 0 && this.#downSince === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.#abort.abort();
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    let delay = this.#o.retryMs ?? 250;
    const signal = this.#abort.signal;
    let delivered = 0;
    while (!signal.aborted && this.#lines.length > 0) {
      const batch = this.#lines.slice(0, this.#o.batchLines ?? 500);
      try {
        await this.#o.send(batch, AbortSignal.any([signal, AbortSignal.timeout(15_000)]));
        // Lines dropped meanwhile came off the front: remove what was sent, by identity.
        const first = this.#lines.indexOf(batch[0]!);
        this.#lines.splice(0, first < 0 ? 0 : first + batch.length);
        delivered += batch.length;
        if (this.#downSince !== undefined) {
          this.#o.onRecovered?.(Date.now() - this.#downSince, delivered);
          this.#downSince = undefined;
        }
        delay = this.#o.retryMs ?? 250;
      } catch (e) {
        if (signal.aborted) return;
        if (this.#downSince === undefined) {
          this.#downSince = Date.now();
          delivered = 0;
          this.#o.onError?.(this.#o.describe?.(e) ?? (e as Error).message, this.#lines.length);
        }
        await new Promise<void>((r) => {
          const timer = setTimeout(r, delay);
          this.#wake = () => {
            if (signal.aborted) {
              clearTimeout(timer);
              r();
            }
          };
        });
        this.#wake = undefined;
        delay = Math.min(delay * 2, this.#o.maxRetryMs ?? 5000);
      }
    }
  }
}
