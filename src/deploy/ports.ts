/**
 * The ports the deploy pipeline is built from. Implementations are wired in `server.ts`:
 * the builder from `build/`, the sealer from `secrets/`, the health gate from here, the traffic
 * port from `router/`. Tests hand in small fakes of these, our own interfaces.
 */
import type { Artifact, LogLine } from "../engine/engine.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { ServiceRow } from "../store/repositories/services.ts";

export interface BuildRequest {
  readonly environment: EnvironmentRow;
  readonly service: ServiceRow;
  readonly signal: AbortSignal;
  readonly onLog: (line: LogLine) => void;
}

/** Turns a service's recorded inputs into an artifact; cached by content so rebuilding is cheap. */
export interface Builder {
  build(request: BuildRequest): Promise<Artifact>;
}

/** Resolves a service's env (secrets, references) and seals it into an encrypted snapshot. */
export interface EnvSealer {
  seal(environment: EnvironmentRow, service: ServiceRow): Promise<string>;
  /**
   * Two-phase sealing for a batch of services (issue 15): what the environment offers is
   * fetched first (async: resource addresses), then the services are sealed synchronously, so
   * the caller can re-read them right before — nothing lands in between.
   */
  prepare?(environment: EnvironmentRow): Promise<SealContext>;
  /**
   * Digests of the resolved addresses (database/key-value/service host and port) each service's
   * env reads now (see addresses.ts); read once per reconcile pass. A release records the
   * digest it was sealed with, and the planner rolls a service whose digest moved.
   */
  addresses?(environment: EnvironmentRow): Promise<(service: string) => string>;
}

/** Sealing with the environment's values already fetched: synchronous. */
export interface SealContext {
  /** Seals these services together (one resolution of the env); throws if any cannot be. */
  sealMany(environment: EnvironmentRow, services: readonly ServiceRow[]): Readonly<Record<string, string>>;
  addresses(service: string): string;
}
