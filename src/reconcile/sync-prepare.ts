/**
 * The CPU-heavy half of a sync (issue 15): blueprint text -> parsed, validated, resolved for one
 * environment -> each service's engine spec and release inputs. No store access, so a large
 * blueprint can be prepared in a worker thread (sync-worker.ts) while the daemon's event loop
 * keeps answering; a small one is prepared in place.
 */
import { existsSync } from "node:fs";
import { type HostPolicy, parseBlueprint, resolveEnvironment } from "../blueprint/index.ts";
import type { Diagnostic } from "../blueprint/diagnostics.ts";
import type { Blueprint, Service } from "../blueprint/types.ts";
import { directoryDigest } from "../build/source-digest.ts";
import { BerthError } from "../core/errors.ts";
import { type DesiredService, desiredServices, serviceDir } from "../deploy/desired.ts";
import { inputsDigest, type ReleaseInputs, type SourceRef } from "../deploy/inputs.ts";

export interface PrepareInput {
  readonly blueprintText: string;
  readonly file: string;
  readonly environment: string;
  readonly project?: string;
  readonly sourceDir: string;
  readonly staticServer: readonly string[];
  /**
   * Refuses a blueprint with more services than this (BERTH_SERVICES_LIMIT); `others` = each
   * project's services in its environments other than this one.
   */
  readonly limit?: { readonly maxServicesPerProject: number; readonly others: Readonly<Record<string, number>> };
}

/** In-process hooks (functions do not cross to the worker thread; it builds its own). */
export interface PrepareHooks {
  /** How a service's source revision is found (git syncs); undefined (or absent): its directory's content digest. */
  readonly revisionOf?: (service: Service, project: string) => SourceRef | undefined;
  /**
   * Promotion (issue 19): services that run another environment's artifact instead of a build.
   * Recorded in their inputs, so the release is new and the pipeline uses the artifact as is.
   */
  readonly promoted?: Readonly<Record<string, NonNullable<ReleaseInputs["promoted"]>>>;
  /** The host's rules for the project (issue 17), checked with located errors while parsing. */
  readonly policy?: (project: string) => HostPolicy;
}

export interface Prepared {
  readonly project: string;
  readonly blueprint: Blueprint;
  /** Inputs digests here do not include env versions yet (they need the secret store). */
  readonly services: readonly DesiredService[];
  readonly warnings: readonly Diagnostic[];
}

/**
 * Prepares a sync. A service's source revision is by default the content digest of its
 * directory, computed once per directory however many services share it.
 */
export function prepareSync(input: PrepareInput, hooks: PrepareHooks = {}): Prepared {
  const { revisionOf, policy } = hooks;
  const parsed = parseBlueprint(input.blueprintText, { file: input.file, ...(policy ? { policy } : {}) });
  if (!parsed.ok) {
    const first = parsed.errors[0];
    throw new BerthError(
      "BERTH_BLUEPRINT_INVALID",
      { file: input.file, count: parsed.errors.length, first: first ? `${first.line}:${first.column} ${first.message}` : "" },
      { details: parsed.errors },
    );
  }
  const bp = resolveEnvironment(parsed.blueprint, input.environment);
  const project = input.project ?? bp.project;
  if (input.limit) {
    const count = bp.services.length + (input.limit.others[project] ?? 0);
    if (count > input.limit.maxServicesPerProject) {
      throw new BerthError("BERTH_SERVICES_LIMIT", { project, environment: input.environment, count, limit: input.limit.maxServicesPerProject });
    }
  }
  const digests = new Map<string, string>();
  const services = desiredServices(bp, {
    project,
    environment: input.environment,
    staticServer: input.staticServer,
    envVersion: "",
    revisionOf: (s) => {
      const dir = serviceDir(input.sourceDir, s);
      if (!existsSync(dir)) throw new BerthError("BERTH_BAD_REQUEST", { detail: `services.${s.name}.rootDir: '${dir}' does not exist` });
      const given = revisionOf?.(s, project);
      if (given) return given;
      let revision = digests.get(dir);
      if (revision === undefined) {
        revision = directoryDigest(dir);
        digests.set(dir, revision);
      }
      return { kind: "dir", path: input.sourceDir, revision };
    },
  });
  const promoted = hooks.promoted;
  if (!promoted) return { project, blueprint: bp, services, warnings: parsed.warnings };
  const pinned = services.map((d) => {
    const pin = promoted[d.spec.ref.service];
    if (!pin) return d;
    const inputs: ReleaseInputs = { ...d.inputs, promoted: pin };
    return { ...d, inputs, inputsDigest: inputsDigest(inputs, d.spec, "") };
  });
  return { project, blueprint: bp, services: pinned, warnings: parsed.warnings };
}
