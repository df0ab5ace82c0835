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
import { addressesDigest, addressIndex } from "./addresses.ts";
import type { EnvSealer, SealContext } from "./ports.ts";

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
  const prepare = async (env: EnvironmentRow): Promise<SealContext> => {
    const resources = await deps.resources(env);
    let refsOf: ((service: string) => ReturnType<ReturnType<typeof addressIndex>>) | undefined;
    return {
      sealMany(envNow, services) {
        const project = deps.store.projects.byId(envNow.projectId);
        if (!project) throw new BerthError("BERTH_NOT_FOUND", { kind: "project", name: envNow.projectId });
        const result = prepareReleaseEnvs(deps.secrets, {
          project: { id: project.id, name: project.name },
          environment: envNow.name,
          blueprint: envNow.blueprint as Blueprint,
          resources,
          ...(deps.defaults ? { defaults: (s: string) => deps.defaults!(envNow, s) } : {}),
          only: services.map((s) => s.name),
          // `berth up` runs a blueprint locally before anyone set its API keys: empty, not refused.
          unsetSecrets: envNow.name === "development" ? "empty" : "error",
          actor: "system",
        });
        if (result.sensitive.length > 0 || result.generated.length > 0) deps.onSensitive?.(result.sensitive);
        for (const s of services) if (!result.sealed[s.name]) throw new BerthError("BERTH_NOT_FOUND", { kind: "service", name: s.name });
        return result.sealed;
      },
      addresses(service) {
        refsOf ??= addressIndex(env.blueprint as Blueprint);
        return addressesDigest(refsOf(service), resources);
      },
    };
  };
  return {
    prepare,
    async seal(env: EnvironmentRow, service: ServiceRow): Promise<string> {
      return (await prepare(env)).sealMany(env, [service])[service.name]!;
    },
    async addresses(env: EnvironmentRow): Promise<(service: string) => string> {
      const ctx = await prepare(env);
      return (service) => ctx.addresses(service);
    },
  };
}
