/**
 * The typed event map: the single source for the audit log, deploy history, logs, metrics,
 * the dashboard's live view and test assertions. Names are namespaced `area:thing[:detail]`.
 * Subsystems add their events in `events/<area>.ts` and extend `EventMap` here.
 */
import type { SpineEvents } from "./events/spine.ts";
import type { ApprovalEvents, DeployEvents } from "./events/deploy.ts";
import type { RouterEvents } from "./events/router.ts";
import type { EngineEvents } from "./events/engine.ts";
import type { CronEvents } from "./events/cron.ts";
import type { DataEvents } from "./events/data.ts";
import type { SecretsEvents } from "./events/secrets.ts";
import type { GitEvents } from "./events/git.ts";
import type { OperationEvents } from "./events/operations.ts";
import type { ControlEvents } from "./events/control.ts";
import type { SecurityEvents } from "./events/security.ts";
import type { ObserveEvents } from "./events/observe.ts";
import type { PreviewEvents } from "./events/previews.ts";
import type { SleepEvents } from "./events/sleep.ts";

export interface EventMap extends SpineEvents, DeployEvents, ApprovalEvents, RouterEvents, EngineEvents, DataEvents, SecretsEvents, CronEvents, GitEvents, OperationEvents, ControlEvents, SecurityEvents, ObserveEvents, PreviewEvents, SleepEvents {}

export type EventType = keyof EventMap;

/** Where an event happened; every field optional because some events are global. */
export interface EventScope {
  readonly project?: string;
  readonly environment?: string;
  readonly service?: string;
}

/** An event as recorded in the store and streamed to clients. */
export interface BerthEvent<T extends EventType = EventType> {
  readonly seq: number;
  readonly at: string;
  readonly type: T;
  readonly scope: EventScope;
  /** Who caused it: a token name, `system`, `cron`, `git`. */
  readonly actor: string;
  readonly data: EventMap[T];
}

/** What emitters hand over; the store assigns seq and time. */
export interface EventInput<T extends EventType = EventType> {
  readonly type: T;
  readonly scope?: EventScope;
  readonly actor?: string;
  readonly data: EventMap[T];
}

/** The sink every subsystem emits into. Implemented by the store-backed event bus. */
export interface EventSink {
  emit<T extends EventType>(event: EventInput<T>): void;
}

/** Severity used for log level and alert routing. */
export function eventLevel(type: EventType): "info" | "warn" | "error" {
  if (/(:failed|:crash-looping|:oom|:missed|:timeout|:error|:limit-exceeded)$/.test(type)) return "error";
  if (/(:warning|:unhealthy|:retry|:rejected|:refused|:expiring)$/.test(type)) return "warn";
  return "info";
}
