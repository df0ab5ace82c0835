/**
 * What goes into a release, as recorded by a sync. Two digests matter: the build digest (source
 * revision + build settings: same digest, same artifact, so it is the build cache key) and the
 * inputs digest (build digest + everything else: a new release is cut when it changes).
 */
import { createHash } from "node:crypto";
import type { Artifact, ServiceSpec } from "../engine/engine.ts";

export type SourceRef =
  | { readonly kind: "dir"; readonly path: string; readonly revision: string }
  | { readonly kind: "git"; readonly url: string; readonly ref: string; readonly revision: string };

export interface ReleaseInputs {
  readonly source: SourceRef;
  /** Sub-directory of the source the service builds and runs from (monorepos). */
  readonly rootDir: string;
  readonly runtime: string;
  readonly buildCommand: string | null;
  readonly preDeploy: string | null;
  readonly initialDeploy: string | null;
  /** Static sites: what the build publishes. */
  readonly publishDir: string | null;
  /** Env var sources as the blueprint states them (references, not values). */
  readonly env: unknown;
  /** Extra, service-kind specific settings (static routes, cron schedule) the release carries. */
  readonly extra: unknown;
  /**
   * Runtime versions the blueprint asks for (issue 14): `nodeVersion`/`pythonVersion` and plain
   * NODE_VERSION/PYTHON_VERSION variables. Absent when none is set. Pins in the repository's
   * files are part of the source revision already.
   */
  readonly versions?: RuntimeVersions;
  /** Raised limits of build steps (absent: the defaults of core/limits.ts). Not part of the build digest. */
  readonly buildLimits?: { readonly memoryBytes?: number; readonly cpuMillicores?: number; readonly pids?: number; readonly timeoutMs?: number };
  /**
   * Promotion (issue 19): the artifact another environment's live release runs, used as is (no
   * build). Absent on every service that was not promoted, so their digests stay what they were.
   */
  readonly promoted?: PromotedArtifact;
}

/** Where a promoted service's artifact comes from: `environment`'s release #`release`. */
export interface PromotedArtifact {
  readonly environment: string;
  readonly release: number;
  readonly artifact: Artifact;
}

export interface RuntimeVersions {
  readonly nodeVersion?: string;
  readonly nodeVersionEnv?: string;
  readonly pythonVersion?: string;
  readonly pythonVersionEnv?: string;
}

function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

export function buildDigest(inputs: ReleaseInputs): string {
  const { source, rootDir, runtime, buildCommand, publishDir, versions } = inputs;
  // `versions` only when set, so services without pins keep the digests (and artifacts) they had.
  return digest({ revision: source.revision, rootDir, runtime, buildCommand, publishDir, ...(versions ? { versions } : {}) });
}

export function inputsDigest(inputs: ReleaseInputs, spec: ServiceSpec, envVersion: string): string {
  return digest({ inputs, spec, envVersion });
}
