/**
 * Sealed env snapshots for releases: the whole resolved environment encrypted as ONE ciphertext
 * (`bs1`) under the project's data key. One authentication tag covers every variable, so opening
 * either yields the complete environment or throws — a release can never start with a partial
 * or silently emptied environment.
 */
import { BerthError, isBerthError } from "../core/errors.ts";
import type { Keyring } from "./keyring.ts";
import type { ProjectRef } from "./ports.ts";

export type Env = Readonly<Record<string, string>>;

/** Optionally binds a snapshot to one service, so it cannot be handed to another. */
export interface SealScope {
  readonly environment: string;
  readonly service: string;
}

export interface OpenedEnv {
  readonly projectId: string;
  readonly scope: SealScope | undefined;
  readonly env: Env;
}

const CONTEXT = ["release-env"];

interface Payload {
  v: 1;
  scope?: SealScope;
  env: Record<string, string>;
}

/** Encrypts `env` under the project's active data key. */
export function sealEnv(keyring: Keyring, project: ProjectRef, env: Env, scope?: SealScope): string {
  const payload: Payload = { v: 1, ...(scope ? { scope: { environment: scope.environment, service: scope.service } } : {}), env: { ...env } };
  return keyring.encrypt(project.id, "bs1", CONTEXT, Buffer.from(JSON.stringify(payload), "utf8")).ciphertext;
}

/** Decrypts a snapshot. Any damage throws BERTH_ENV_SEALED_CORRUPT; nothing partial is returned. */
export function openEnv(keyring: Keyring, sealed: string, what = "release"): OpenedEnv {
  const corrupt = (detail: string, cause?: unknown): never => {
    throw new BerthError("BERTH_ENV_SEALED_CORRUPT", { what, detail }, { cause });
  };
  let opened: { plaintext: Buffer; projectId: string };
  try {
    opened = keyring.decrypt(undefined, "bs1", CONTEXT, sealed, `sealed env of ${what}`);
  } catch (e) {
    return corrupt(isBerthError(e) ? e.message : "decryption failed", e);
  }
  let payload: Payload;
  try {
    payload = JSON.parse(opened.plaintext.toString("utf8")) as Payload;
  } catch (e) {
    return corrupt("payload is not JSON", e);
  }
  if (payload?.v !== 1 || typeof payload.env !== "object" || payload.env === null) return corrupt("unknown payload version");
  for (const [k, v] of Object.entries(payload.env)) {
    if (typeof v !== "string") corrupt(`variable ${k} is not a string`);
  }
  return { projectId: opened.projectId, scope: payload.scope, env: Object.freeze({ ...payload.env }) };
}

/** Re-encrypts a snapshot under the project's current data key (after a data-key rotation). */
export function resealEnv(keyring: Keyring, project: ProjectRef, sealed: string): string {
  const opened = openEnv(keyring, sealed);
  if (opened.projectId !== project.id) throw new BerthError("BERTH_ENV_SEALED_CORRUPT", { what: project.name, detail: "sealed for another project" });
  return sealEnv(keyring, project, opened.env, opened.scope);
}

/** The shape of `Release` this module reads (structurally `engine.ts`'s Release). */
export interface SealedRelease {
  readonly id: string;
  readonly number: number;
  readonly service: { readonly project: string; readonly environment: string; readonly service: string };
  readonly sealedEnv: string;
}

/**
 * Builds the engines' `EnvOpener`: opens a release's env and checks that it was sealed for that
 * release's project (and service, when the snapshot is scoped). `projectIdOf` maps the release's
 * project name to its id.
 */
export function envOpener(keyring: Keyring, projectIdOf: (projectName: string) => string | undefined): (release: SealedRelease) => Promise<Env> {
  return async (release) => {
    const what = `release ${release.number} of ${release.service.project}/${release.service.environment}/${release.service.service}`;
    const opened = openEnv(keyring, release.sealedEnv, what);
    const expectedProject = projectIdOf(release.service.project);
    if (opened.projectId !== expectedProject) {
      throw new BerthError("BERTH_ENV_SEALED_CORRUPT", { what, detail: "it was sealed for another project" });
    }
    if (opened.scope && (opened.scope.environment !== release.service.environment || opened.scope.service !== release.service.service)) {
      throw new BerthError("BERTH_ENV_SEALED_CORRUPT", { what, detail: "it was sealed for another service" });
    }
    return opened.env;
  };
}
