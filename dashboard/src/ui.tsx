/** Small shared pieces: status badges, times, errors, role gates. */
import type { ComponentChildren } from "preact";
import type { Role } from "./types.ts";

const RANK: Record<Role, number> = { viewer: 0, deployer: 1, owner: 2 };

/** Renders children only for roles at least `need`: a button a role cannot use is not offered. */
export function Can(props: { role: Role; need: Role; children: ComponentChildren }) {
  return RANK[props.role] >= RANK[props.need] ? props.children : null;
}

const TONE: Record<string, string> = {
  healthy: "ok",
  live: "ok",
  running: "ok",
  succeeded: "ok",
  ready: "ok",
  starting: "busy",
  pending: "busy",
  claimed: "busy",
  deploying: "busy",
  draining: "busy",
  "crash-looping": "bad",
  failed: "bad",
  unhealthy: "bad",
  "timed-out": "bad",
  "rolled-back": "warn",
  exited: "warn",
  stopped: "warn",
};

/** A state word with a colour (and the word itself, so colour is never the only signal). */
export function Badge(props: { state: string }) {
  return <span class={`badge ${TONE[props.state] ?? "neutral"}`}>{props.state}</span>;
}

/** A timestamp as local time, the ISO form on hover. */
export function When(props: { at: string | null | undefined }) {
  if (!props.at) return <span>—</span>;
  const d = new Date(props.at);
  return <time dateTime={props.at} title={props.at}>{d.toLocaleString()}</time>;
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;
}

export function ErrorBox(props: { error: Error | undefined }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error.message}
    </p>
  );
}

export function Loading() {
  return <p aria-busy="true">Loading…</p>;
}

/** A table that scrolls sideways on a narrow screen instead of overflowing the page. */
export function Table(props: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section class="table-wrap" aria-label={props.label} tabIndex={0}>
      <table>{props.children}</table>
    </section>
  );
}
