/**
 * What each engine's test file hands the shared contract suite: the engine plus the few things
 * only it knows how to do (make a release of the tiny test app, kill an instance from outside).
 */
import { connect } from "node:net";
import type { EventInput, EventSink, EventType } from "../../core/events.ts";
import type { Engine, HealthGate, HealthSpec, Release, ServiceRef, ServiceSpec } from "../engine.ts";

/** The tiny apps every engine must be able to run (on `local` these are real Node scripts). */
export type ContractApp =
  /** Prints `hello <PORT or worker> <GREETING>` then stays up; listens on $PORT if given. */
  | "ok"
  /** Exits with code 1 at once. */
  | "crash";

/** One-off commands the contract runs through runTask. */
export type ContractTask =
  | { readonly kind: "print-env"; readonly name: string }
  | { readonly kind: "exit"; readonly code: number }
  | { readonly kind: "sleep" };

export interface ContractFixture {
  readonly engine: Engine;
  /** Events the engine emitted, oldest first. */
  readonly events: RecordedEvents;
  /** A release of `ref` numbered `number` whose env holds `GREETING=<greeting>`. */
  release(ref: ServiceRef, number: number, greeting?: string): Promise<Release>;
  /** A release whose env cannot be opened (the EnvOpener throws for it). */
  sealedRelease(ref: ServiceRef, number: number): Promise<Release>;
  /** The start command running `app`. */
  startCommand(app: ContractApp): string;
  taskCommand(task: ContractTask): string;
  /** Kills an instance from outside, as `kill -9` would. */
  kill(ref: ServiceRef, instanceId: string): Promise<void>;
  cleanup(): Promise<void>;
  /** The gate the contract's rollouts use; the liveness gate unless the engine has real sockets. */
  readonly health?: HealthGate;
}

/** The redactor every contract fixture hands its engine: masks this one value. */
export const CONTRACT_SECRET = "s3cret-contract-value";
export const contractRedact = (text: string): string => text.split(CONTRACT_SECRET).join("[redacted]");

/** An EventSink that keeps what it is given, for assertions. */
export class RecordedEvents implements EventSink {
  readonly list: EventInput[] = [];
  /** When each event of `list` arrived (ms since the epoch). */
  readonly times: number[] = [];
  emit<T extends EventType>(event: EventInput<T>): void {
    this.list.push(event as EventInput);
    this.times.push(Date.now());
  }
  of<T extends EventType>(type: T): EventInput<T>[] {
    return this.list.filter((e) => e.type === type) as EventInput<T>[];
  }
}

export const contractHealth: HealthSpec = {
  intervalMs: 50,
  timeoutMs: 500,
  unhealthyThreshold: 3,
  healthyThreshold: 1,
  graceMs: 300,
  deployTimeoutMs: 5000,
};

/**
 * A liveness gate: healthy when the instance is still alive after `graceMs`. Engine-agnostic,
 * so the contract needs no HTTP server (deploy/ owns the real HTTP probe).
 */
export const livenessGate: HealthGate = {
  async wait(instance, spec, signal) {
    const until = Date.now() + spec.graceMs;
    while (Date.now() < until) {
      if (signal.aborted) return { ok: false, detail: "aborted" };
      if (!instance.alive()) return { ok: false, detail: "exited during its grace period" };
      await new Promise((r) => setTimeout(r, 20));
    }
    return instance.alive() ? { ok: true, detail: "alive" } : { ok: false, detail: "exited" };
  },
};

/**
 * A readiness gate for engines whose endpoints are real sockets: an instance with an endpoint is
 * healthy once a TCP connection to it succeeds while it is alive; one without (a worker) as the
 * liveness gate says. Waiting for the listener, not a fixed time, keeps a slow start on a loaded
 * machine (bubblewrap, cgroups) from passing a process that is about to crash.
 */
export const listeningGate: HealthGate = {
  async wait(instance, spec, signal) {
    if (!instance.endpoint) return livenessGate.wait(instance, spec, signal);
    const deadline = Date.now() + spec.deployTimeoutMs;
    while (Date.now() < deadline) {
      if (signal.aborted) return { ok: false, detail: "aborted" };
      if (!instance.alive()) return { ok: false, detail: "exited before it was ready" };
      if (await accepts(instance.endpoint)) {
        return instance.alive() ? { ok: true, detail: "listening" } : { ok: false, detail: "exited" };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return { ok: false, detail: `not listening within ${spec.deployTimeoutMs} ms` };
  },
};

function accepts(endpoint: { readonly host: string; readonly port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(500, () => done(false));
  });
}

export function contractSpec(ref: ServiceRef, start: string, overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    ref,
    kind: "web",
    replicas: 2,
    singleton: false,
    start,
    listens: true,
    health: contractHealth,
    restart: { policy: "always" },
    shutdownDelayMs: 2000,
    limits: {},
    disks: [],
    ...overrides,
  };
}

/** Polls `fn` until it returns a truthy value or the deadline passes (then throws its last error). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000, what = "condition"): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
