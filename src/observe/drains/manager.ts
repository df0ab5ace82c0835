/**
 * Log drains: for every running environment whose blueprint declares `logDrains`, follows each
 * service's logs through the Engine seam (across restarts and deploys: the engine's follow is
 * per service) and copies every line to each drain's bounded, retrying queue. Re-reads the
 * store on a beat, so drains follow blueprint changes.
 */
import type { Blueprint, LogDrainConfig } from "../../blueprint/types.ts";
import type { Clock } from "../../core/clock.ts";
import { BerthError } from "../../core/errors.ts";
import type { EventSink } from "../../core/events.ts";
import type { Engine, LogLine } from "../../engine/engine.ts";
import { DrainQueue, type DrainRecord } from "./queue.ts";
import { resolveDrain } from "./secrets.ts";
import { drainName, type Sender, senderFor } from "./senders.ts";

export interface DrainEnvironment {
  readonly project: string;
  readonly environment: string;
  readonly services: readonly string[];
  readonly drains: readonly LogDrainConfig[];
}

export interface DrainManagerOptions {
  readonly engine: Engine;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly environments: () => readonly DrainEnvironment[];
  /** A drain's credential from the secret store (env group variable, environment over `*`), read at each batch. */
  readonly secret?: (scope: { readonly project: string; readonly environment: string }, group: string, key: string) => string | undefined;
  /** Default 2 s. */
  readonly refreshMs?: number;
  readonly maxLines?: number;
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

/** Parses a log line into a drain record; JSON object lines keep their fields. */
export function toRecord(env: { project: string; environment: string }, service: string, l: LogLine): DrainRecord {
  let fields: Record<string, unknown> | undefined;
  if (l.line.startsWith("{")) {
    try {
      const v = JSON.parse(l.line) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) fields = v as Record<string, unknown>;
    } catch {
      // not JSON after all
    }
  }
  return { time: l.at, project: env.project, environment: env.environment, service, instance: l.instance, stream: l.stream, message: l.line, ...(fields ? { fields } : {}) };
}

interface EnvState {
  key: string;
  queues: { queue: DrainQueue; sender: Sender }[];
  followers: Map<string, AbortController>;
}

export class DrainManager {
  readonly #o: DrainManagerOptions;
  readonly #envs = new Map<string, EnvState>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DrainManagerOptions) {
    this.#o = options;
  }

  start(): void {
    this.refresh();
    this.#timer = setInterval(() => this.refresh(), this.#o.refreshMs ?? 2000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#envs.keys()].map((k) => this.#close(k)));
  }

  /** Starts and stops queues and followers to match the store. */
  refresh(): void {
    const wanted = new Map(this.#o.environments().filter((e) => e.drains.length > 0).map((e) => [`${e.project}/${e.environment}`, e]));
    for (const k of this.#envs.keys()) {
      const w = wanted.get(k);
      if (!w || JSON.stringify(w.drains) !== this.#envs.get(k)!.key) void this.#close(k);
    }
    for (const [k, env] of wanted) {
      let st = this.#envs.get(k);
      if (!st) {
        st = { key: JSON.stringify(env.drains), queues: env.drains.map((d, i) => this.#queue(env, d, i)), followers: new Map() };
        this.#envs.set(k, st);
      }
      for (const [service, abort] of st.followers) {
        if (!env.services.includes(service)) {
          abort.abort();
          st.followers.delete(service);
        }
      }
      for (const service of env.services) if (!st.followers.has(service)) st.followers.set(service, this.#follow(env, service, st));
    }
  }

  #queue(env: DrainEnvironment, drain: LogDrainConfig, index: number): { queue: DrainQueue; sender: Sender } {
    const name = drainName(drain);
    const scope = { project: env.project, environment: env.environment };
    const sender = senderFor(drain, () => resolveDrain(index, drain, env.environment, (group, key) => this.#o.secret?.(scope, group, key)));
    const queue = new DrainQueue({
      name,
      send: sender,
      ...(this.#o.maxLines ? { maxLines: this.#o.maxLines } : {}),
      ...(this.#o.retryMs ? { retryMs: this.#o.retryMs } : {}),
      ...(this.#o.maxRetryMs ? { maxRetryMs: this.#o.maxRetryMs } : {}),
      onDropped: (lines) => this.#o.events.emit({ type: "drain:dropped", scope, actor: "system", data: { drain: name, lines, bufferLines: this.#o.maxLines ?? 10_000 } }),
      // An unset secret: the event says which field, which variable and the command that sets it.
      describe: (e) => (e instanceof BerthError && e.code === "BERTH_ALERT_SECRET_MISSING" ? `${e.message}. ${e.hint}` : (e as Error).message),
      onError: (reason, pending) => this.#o.events.emit({ type: "drain:error", scope, actor: "system", data: { drain: name, reason: reason.slice(0, 600), pending } }),
      onRecovered: (downMs, delivered) => this.#o.events.emit({ type: "drain:recovered", scope, actor: "system", data: { drain: name, downMs, delivered } }),
    });
    return { queue, sender };
  }

  #follow(env: DrainEnvironment, service: string, st: EnvState): AbortController {
    const abort = new AbortController();
    const sinceMs = this.#o.clock.now();
    void (async () => {
      for (let attempt = 0; !abort.signal.aborted; attempt++) {
        try {
          for await (const l of this.#o.engine.logs({ service: { project: env.project, environment: env.environment, service }, sinceMs, follow: true, signal: abort.signal })) {
            const r = toRecord(env, service, l);
            for (const q of st.queues) q.queue.push([r]);
          }
        } catch {
          // the engine's stream broke: follow again (lines already sent are not re-read: sinceMs moves)
        }
        if (!abort.signal.aborted) await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)).unref());
      }
    })();
    return abort;
  }

  async #close(key: string): Promise<void> {
    const st = this.#envs.get(key);
    if (!st) return;
    this.#envs.delete(key);
    for (const a of st.followers.values()) a.abort();
    await Promise.all(
      st.queues.map(async (q) => {
        await q.queue.stop();
        q.sender.close?.();
      }),
    );
  }
}

/** The drain view of running environments (composition root). */
export function drainEnvironments(rows: readonly { project: string; name: string; blueprint: unknown }[]): DrainEnvironment[] {
  return rows.map((e) => {
    const bp = e.blueprint as Blueprint;
    return { project: e.project, environment: e.name, services: bp.services.filter((s) => s.type !== "cron").map((s) => s.name), drains: bp.logDrains ?? [] };
  });
}
