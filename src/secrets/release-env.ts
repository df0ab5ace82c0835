/**
 * What the deploy pipeline calls to build a release's env: create missing generated secrets
 * (once, persisted), open this environment's secrets, resolve every service's env (pure), and
 * seal each. Throws — before anything is started — when a secret fails to decrypt
 * (BERTH_SECRETS_DECRYPT_FAILED) or a variable cannot be resolved (BERTH_ENV_UNRESOLVED, every
 * problem in `details`).
 */
import type { BlueprintEnvShape } from "./blueprint-input.ts";
import { envInputFromBlueprint } from "./blueprint-input.ts";
import type { Keyring } from "./keyring.ts";
import type { ProjectRef } from "./ports.ts";
import type { NamedValue } from "./redact.ts";
import type { ResolvedServiceEnv } from "./resolve.ts";
import { missingGenerated, requireResolved, resolveEnv } from "./resolve.ts";
import { sealEnv } from "./seal.ts";
import type { AvailableValues } from "./sources.ts";
import type { SecretStore } from "./store.ts";

export interface ReleaseEnvRequest {
  readonly project: ProjectRef;
  readonly environment: string;
  /** The blueprint with this environment's overrides applied (`resolveEnvironment`). */
  readonly blueprint: BlueprintEnvShape;
  /** Connection properties of databases and key-value stores, addresses of services. */
  readonly resources: Omit<AvailableValues, "secrets">;
  /** Platform defaults per service (PORT, ...), lowest precedence. */
  readonly defaults?: (service: string) => Readonly<Record<string, string>>;
  /** Seal only these services (all are still resolved, for cross-service references); default all. */
  readonly only?: readonly string[];
  /** See `ResolveOptions.unsetSecrets`: `empty` only for local development environments. */
  readonly unsetSecrets?: "error" | "empty";
  readonly actor: string;
}

export interface ReleaseEnvs {
  /** Sealed env per service, bound to that service (`Release.sealedEnv`). */
  readonly sealed: Readonly<Record<string, string>>;
  /** Per service: final variable names, where each came from, which are sensitive. No values. */
  readonly summary: Readonly<Record<string, Omit<ResolvedServiceEnv, "env"> & { readonly names: readonly string[] }>>;
  /** Resolved values that hold or embed secrets, for the redactor (`SecretStore.redactor`). */
  readonly sensitive: readonly NamedValue[];
  /** Generated secrets created by this call (`owner/NAME`). */
  readonly generated: readonly string[];
}

export function prepareReleaseEnvs(secrets: { readonly keyring: Keyring; readonly store: SecretStore }, req: ReleaseEnvRequest): ReleaseEnvs {
  const available = (): AvailableValues => ({ ...req.resources, secrets: secrets.store.openAll(req.project, req.environment) });
  let input = envInputFromBlueprint(req.blueprint, available(), req.defaults);
  const wanted = missingGenerated(input);
  const generated = wanted.length > 0 ? secrets.store.ensureGenerated(req.project, req.environment, wanted, req.actor) : [];
  // Opened again only when secrets were just generated (a 5,000-service environment is sealed in
  // batches: every pass over it counts).
  if (generated.length > 0) input = envInputFromBlueprint(req.blueprint, available(), req.defaults);
  // Problems of services not being released do not block these; their dependencies on other
  // services are still resolved (and reported on their own variables).
  const services = requireResolved(resolveEnv(input, {
      ...(req.only ? { only: req.only } : {}),
      ...(req.unsetSecrets ? { unsetSecrets: req.unsetSecrets } : {}),
    }));
  const sealed: Record<string, string> = {};
  const summary: Record<string, Omit<ResolvedServiceEnv, "env"> & { names: string[] }> = {};
  const sensitive: NamedValue[] = [];
  for (const [service, resolved] of Object.entries(services)) {
    sealed[service] = sealEnv(secrets.keyring, req.project, resolved.env, { environment: req.environment, service });
    summary[service] = { names: Object.keys(resolved.env), origins: resolved.origins, sensitive: resolved.sensitive };
    for (const name of resolved.sensitive) sensitive.push({ name, value: resolved.env[name]! });
  }
  return { sealed, summary, sensitive, generated };
}

