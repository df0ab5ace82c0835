/**
 * Resolves a service's environment at release time and seals it into the release, through the
 * secrets subsystem: generated secrets are created once, every reference is resolved (all
 * problems reported, naming variable and reason), and nothing partial is ever sealed.
 */
import type { Blueprint } from "../blueprint/types.ts";
import { BerthError } from "../core/errors.ts";
import type { NamedValue } from "../secrets/redact.ts";
import { prepareReleaseEnvs } from "../secrets/release-env.ts";
import type { AvailableValues } from "../secrets/sources.ts";
import type { Secrets } from "../secrets/setup.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { ServiceRow } from "../store/repositories/services.ts";
import type { Store } from "../store/store.ts";
import { addressRefs, addressesDigest } from "./addresses.ts";
import type { EnvSealer } from "./ports.ts";

/** Connection properties of the environment's databases and key-values, addresses of its services. */
export type ResourceValues = (env: EnvironmentRow) => Promise<Omit<AvailableValues, "secrets">>;

export interface SealerDeps {
  readonly store: Store;
  readonly secrets: Secrets;
  readonly resources: ResourceValues;
  /** Platform variables every instance gets (lowest precedence). */
  readonly defaults?: (env: EnvironmentRow, service: string) => Readonly<Record<string, string>>;
  /** Resolved values that embed secrets (a password inside a URL), for the redactor. */
  readonly onSensitive?: (values: readonly NamedValue[]) => void;
}

export function makeSealer(deps: SealerDeps): EnvSealer {
  return {
    async seal(env: EnvironmentRow, service: ServiceRow): Promise<string> {
      const project = deps.store.projects.byId(env.projectId);
      if (!project) throw new BerthError("BERTH_NOT_FOUND", { kind: "project", name: env.projectId });
      const result = prepareReleaseEnvs(deps.secrets, {
        project: { id: project.id, name: project.name },
        environment: env.name,
        blueprint: env.blueprint as Blueprint,
        resources: await deps.resources(env),
        ...(deps.defaults ? { defaults: (s: string) => deps.defaults!(env, s) } : {}),
        only: [service.name],
        // `berth up` runs a blueprint locally before anyone set its API keys: empty, not refused.
        unsetSecrets: env.name === "development" ? "empty" : "error",
        actor: "system",
      });
      if (result.sensitive.length > 0 || result.generated.length > 0) deps.onSensitive?.(result.sensitive);
      const sealed = result.sealed[service.name];
      if (!sealed) throw new BerthError("BERTH_NOT_FOUND", { kind: "service", name: service.name });
      return sealed;
    },
    async addresses(env: EnvironmentRow): Promise<(service: string) => string> {
      const values = await deps.resources(env);
      const bp = env.blueprint as Blueprint;
      return (service) => addressesDigest(addressRefs(bp, service), values);
    },
  };
}
