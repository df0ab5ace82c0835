/**
 * The alert manager: turns events and metrics into alerts with a lifecycle — pending (the
 * condition holds, not yet for `for`), firing (notified), resolved (clear for `clearFor`,
 * notified) — deduplicated by rule and scope (one open alert per key), stored so a daemon
 * restart keeps them, and sent to the environment's channels with retries.
 */
import type { BerthEvent, EventSink } from "../../core/events.ts";
import type { Clock } from "../../core/clock.ts";
import { BerthError } from "../../core/errors.ts";
import type { AlertRepository, AlertRow } from "../../store/repositories/alerts.ts";
import { type AlertNotice, type ChannelConfig, type ResolvedChannel, resolveChannel, send as sendChannel } from "./channels.ts";
import type { AlertRule, MetricName, Severity } from "./rules.ts";

export interface EnvironmentAlerts {
  readonly project: string;
  readonly environment: string;
  readonly services: readonly string[];
  readonly rules: readonly AlertRule[];
  readonly channels: Readonly<Record<string, ChannelConfig>>;
  readonly route?: Partial<Record<Severity, readonly string[]>>;
}

export interface AlertManagerOptions {
  readonly repo: AlertRepository;
  readonly events: EventSink;
  readonly clock: Clock;
  /** The environments and their resolved rules and channels (read on every tick and event). */
  readonly environments: () => readonly EnvironmentAlerts[];
  /** A metric of a service over the window ending at `nowMs` (one instant for a whole evaluation); undefined when there is no data. */
  readonly metric: (ref: { project: string; environment: string; service: string }, metric: MetricName, windowMs: number, nowMs: number) => { value: number; requests: number } | undefined;
  /** Where an unscoped event belongs (a certificate's domain -> the environment serving it). */
  readonly scopeOf?: (e: BerthEvent) => { project: string; environment: string } | undefined;
  /**
   * A channel credential: env group `group`'s variable `key` in the environment (or `*`), read
   * from the secret store at each delivery attempt and held only while sending. Absent: none.
   */
  readonly secret?: (scope: { readonly project: string; readonly environment: string }, group: string, key: string) => string | undefined;
  readonly send?: (channel: ResolvedChannel, notice: AlertNotice, signal: AbortSignal) => Promise<void>;
  /** Default 5 s. */
  readonly tickMs?: number;
  /**
   * Metric rules are evaluated at most this often (default 30 s; Prometheus evaluates every
   * minute): their `for` is a minute or more, and each evaluation reads every service's window.
   * Event rules and pending/resolving alerts move on every tick.
   */
  readonly metricEveryMs?: number;
  /** Delivery attempts per channel and the first retry delay (doubling). Default 6 and 1 s. */
  readonly attempts?: number;
  readonly retryMs?: number;
}

interface Live {
  /** When the condition was last seen clear (resolution waits `clearForMs` from here). */
  clearSince?: number;
  /** When a firing event (or a metric above threshold) was last seen. */
  lastSeen: number;
}

const keyOf = (rule: string, project: string, environment: string, service: string): string => `${project}/${environment}/${service}/${rule}`;

function matchesWhere(data: unknown, where: Readonly<Record<string, unknown>> | undefined): boolean {
  if (!where) return true;
  const d = data as Record<string, unknown>;
  return Object.entries(where).every(([k, v]) => d?.[k] === v);
}

function detailOf(e: BerthEvent): string {
  const d = e.data as Record<string, unknown>;
  const parts = ["instance", "reason", "resource", "domain", "notAfter", "step", "exitCode", "failures", "count"].filter((k) => d[k] !== undefined && d[k] !== null).map((k) => `${k} ${String(d[k])}`);
  return parts.join(", ");
}

export class AlertManager {
  readonly #o: AlertManagerOptions;
  readonly #live = new Map<string, Live>();
  readonly #chains = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #metricsAt = Number.NEGATIVE_INFINITY;

  constructor(options: AlertManagerOptions) {
    this.#o = options;
    const now = options.clock.now();
    for (const a of options.repo.open()) this.#live.set(a.dedupKey, { lastSeen: now });
  }

  start(): void {
    this.#timer = setInterval(() => {
      try {
        this.tick();
      } catch {
        // a failed evaluation is retried on the next tick
      }
    }, this.#o.tickMs ?? 5000);
    this.#timer.unref();
  }

  /** Stops evaluating; waits (briefly) for notifications in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.race([Promise.allSettled([...this.#chains.values()]), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.#abort.abort();
  }

  /** Open and recent alerts (the API's view). */
  list(filter: Parameters<AlertRepository["list"]>[0]): AlertRow[] {
    return this.#o.repo.list(filter);
  }

  /** Feeds one event (subscribed to the bus by the composition root). */
  onEvent(e: BerthEvent): void {
    if (e.type.startsWith("alert:")) return;
    const { project, environment } = e.scope.project ? e.scope : (this.#o.scopeOf?.(e) ?? {});
    if (!project || !environment) return;
    const env = this.#o.environments().find((x) => x.project === project && x.environment === environment);
    if (!env) return;
    const data = e.data as Record<string, unknown>;
    for (const rule of env.rules) {
      if (rule.when.kind !== "event") continue;
      const w = rule.when;
      const service = w.keyField ? String(data[w.keyField] ?? "") : (e.scope.service ?? "");
      const key = keyOf(rule.name, project, environment, service);
      if (w.fire.includes(e.type) && matchesWhere(e.data, w.where)) {
        this.#raise(env, rule, service, `${rule.describe}${detailOf(e) ? ` (${detailOf(e)})` : ""}`, null);
      } else if (w.resolve.includes(e.type)) {
        this.#clear(env, rule, key);
      } else if (w.renew?.includes(e.type)) {
        const live = this.#live.get(key);
        if (live) {
          live.clearSince = undefined;
          live.lastSeen = this.#o.clock.now();
        }
      }
    }
  }

  /** Promotes pending alerts, resolves cleared ones, evaluates metric rules. */
  tick(): void {
    const now = this.#o.clock.now();
    const envs = this.#o.environments();
    const evaluate = now - this.#metricsAt >= (this.#o.metricEveryMs ?? 30_000);
    if (evaluate) this.#metricsAt = now;
    for (const env of evaluate ? envs : []) {
      for (const rule of env.rules) {
        if (rule.when.kind !== "metric") continue;
        const w = rule.when;
        for (const service of w.service !== undefined ? [w.service] : env.services) {
          const m = this.#o.metric({ project: env.project, environment: env.environment, service }, w.metric, w.windowMs, now);
          const key = keyOf(rule.name, env.project, env.environment, service);
          if (m && m.requests >= w.minRequests && m.value > w.above) this.#raise(env, rule, service, `${rule.describe}: ${format(w.metric, m.value)}`, m.value);
          else this.#clear(env, rule, key);
        }
      }
    }
    for (const a of this.#o.repo.open()) {
      const env = envs.find((x) => x.project === a.project && x.environment === a.environment);
      const rule = env?.rules.find((r) => r.name === a.rule);
      const live = this.#live.get(a.dedupKey) ?? { lastSeen: now };
      this.#live.set(a.dedupKey, live);
      if (!env || !rule) {
        this.#resolve(a, env); // the rule or the environment is gone
        continue;
      }
      if (rule.when.kind === "event" && rule.when.quietMs !== undefined && live.clearSince === undefined && now - live.lastSeen >= rule.when.quietMs) live.clearSince = now - rule.clearForMs;
      if (a.state === "pending" && live.clearSince === undefined && now - Date.parse(a.startedAt) >= rule.forMs) this.#fire(a, env, rule);
      else if (a.state === "firing" && live.clearSince !== undefined && now - live.clearSince >= rule.clearForMs) this.#resolve(a, env);
    }
  }

  #raise(env: EnvironmentAlerts, rule: AlertRule, service: string, summary: string, value: number | null): void {
    const now = this.#o.clock.now();
    const key = keyOf(rule.name, env.project, env.environment, service);
    const live = this.#live.get(key);
    const open = this.#o.repo.openByKey(key);
    if (open) {
      // Deduplicated: the open alert is updated, nobody is notified again.
      if (live) {
        live.clearSince = undefined;
        live.lastSeen = now;
      } else this.#live.set(key, { lastSeen: now });
      if (value !== open.value) this.#o.repo.update(open.id, { value }, iso(now));
      return;
    }
    const a = this.#o.repo.create({ dedupKey: key, rule: rule.name, severity: rule.severity, project: env.project, environment: env.environment, service, summary, value, startedAt: iso(now) }, iso(now));
    this.#live.set(key, { lastSeen: now });
    if (rule.forMs <= 0) this.#fire(a, env, rule);
  }

  #clear(env: EnvironmentAlerts, rule: AlertRule, key: string): void {
    // Every open alert has a live entry (loaded at start, set when raised): most keys have none,
    // and a store lookup per rule and service on every tick is what they would cost.
    if (!this.#live.has(key)) return;
    const open = this.#o.repo.openByKey(key);
    if (!open) return;
    if (open.state === "pending") {
      this.#o.repo.discard(open.id); // cleared within `for`: it never fired
      this.#live.delete(key);
      return;
    }
    const live = this.#live.get(key) ?? { lastSeen: this.#o.clock.now() };
    this.#live.set(key, live);
    live.clearSince ??= this.#o.clock.now();
    if (rule.clearForMs <= 0) this.#resolve(open, env);
  }

  #fire(a: AlertRow, env: EnvironmentAlerts, rule: AlertRule): void {
    const row = this.#o.repo.update(a.id, { state: "firing" }, iso(this.#o.clock.now()));
    this.#o.events.emit({ type: "alert:firing", scope: scopeOf(row), actor: "system", data: { alert: row.id, rule: row.rule, severity: row.severity, summary: row.summary, value: row.value } });
    this.#notify(row, env, rule);
  }

  #resolve(a: AlertRow, env: EnvironmentAlerts | undefined): void {
    const now = this.#o.clock.now();
    const row = this.#o.repo.update(a.id, { state: "resolved" }, iso(now));
    this.#live.delete(a.dedupKey);
    if (a.state !== "firing") return;
    this.#o.events.emit({ type: "alert:resolved", scope: scopeOf(row), actor: "system", data: { alert: row.id, rule: row.rule, severity: row.severity, summary: row.summary, firingMs: now - Date.parse(row.firedAt ?? row.startedAt) } });
    if (env) this.#notify(row, env, env.rules.find((r) => r.name === row.rule));
  }

  #notify(a: AlertRow, env: EnvironmentAlerts, rule: AlertRule | undefined): void {
    const names = rule?.channels ?? env.route?.[a.severity] ?? Object.keys(env.channels);
    const notice: AlertNotice = { ...a, state: a.state === "resolved" ? "resolved" : "firing" };
    const send = this.#o.send ?? ((c, n, s) => sendChannel(c, n, s, this.#o.clock.now()));
    for (const name of names) {
      const channel = env.channels[name];
      if (!channel) continue;
      // One chain per alert and channel: a resolve is never delivered before its trigger.
      const chainKey = `${a.id}\n${name}`;
      const prev = this.#chains.get(chainKey) ?? Promise.resolve();
      const next = prev.then(() => this.#deliver(channel, name, notice, send));
      this.#chains.set(chainKey, next);
      void next.finally(() => {
        if (this.#chains.get(chainKey) === next) this.#chains.delete(chainKey);
      });
    }
  }

  async #deliver(channel: ChannelConfig, name: string, notice: AlertNotice, send: NonNullable<AlertManagerOptions["send"]>): Promise<void> {
    const attempts = this.#o.attempts ?? 6;
    let delay = this.#o.retryMs ?? 1000;
    let reason = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.#abort.signal.aborted) return;
      try {
        const resolved = resolveChannel(name, channel, notice.environment, (group, key) => this.#o.secret?.(notice, group, key));
        await send(resolved, notice, AbortSignal.any([this.#abort.signal, AbortSignal.timeout(15_000)]));
        this.#o.events.emit({ type: "alert:notified", scope: scopeOf(notice), actor: "system", data: { alert: notice.id, channel: name, state: notice.state, attempt } });
        return;
      } catch (e) {
        reason = (e as Error).message;
        // Retrying cannot set a secret: say so at once, with the command that does.
        if (e instanceof BerthError && e.code === "BERTH_ALERT_SECRET_MISSING") {
          this.#failed(notice, name, attempt, `${e.message}. ${e.hint}`);
          return;
        }
      }
      if (attempt < attempts) {
        await new Promise((r) => setTimeout(r, delay).unref());
        delay *= 2;
      }
    }
    this.#failed(notice, name, attempts, reason);
  }

  #failed(notice: AlertNotice, channel: string, attempts: number, reason: string): void {
    this.#o.events.emit({ type: "alert:notify-failed", scope: scopeOf(notice), actor: "system", data: { alert: notice.id, channel, state: notice.state, attempts, reason: reason.slice(0, 600) } });
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

function scopeOf(a: { project: string; environment: string; service: string }) {
  return { project: a.project, environment: a.environment, ...(a.service ? { service: a.service } : {}) };
}

function format(metric: MetricName, value: number): string {
  if (metric === "errorRate") return `${(value * 100).toFixed(1)} %`;
  if (metric === "cpu" || metric === "memory" || metric === "disk") return `${value.toFixed(0)} %`;
  if (metric === "p95" || metric === "p99") return `${Math.round(value)} ms`;
  return String(Math.round(value));
}
