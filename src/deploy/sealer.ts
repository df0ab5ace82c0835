/**
 * Resolves a service's environment at release time and seals it into the release. Values come
 * from the blueprint (literals, interpolation), the secret store (set and generated secrets, env
 * groups) and the environment's resources and services. A missing reference fails the release
 * naming the variable and the reason; nothing partial is ever sealed.
 */
import type { EnvMap, EnvSource, TemplatePart } from "../blueprint/types.ts";
import { BerthError } from "../core/errors.ts";
import type { SecretOwner } from "../secrets/ports.ts";
import { sealEnv } from "../secrets/seal.ts";
import type { Secrets } from "../secrets/setup.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { ServiceRow } from "../store/repositories/services.ts";
import type { Store } from "../store/store.ts";
import type { ReleaseInputs } from "./inputs.ts";
import type { EnvSealer } from "./ports.ts";

/** Values a reference can point at, by `kind:name` then property. */
export type ReferenceValues = (env: EnvironmentRow) => Promise<Readonly<Record<string, Readonly<Record<string, string>>>>>;

export interface SealerDeps {
  readonly store: Store;
  readonly secrets: Secrets;
  /** Connection properties of databases/key-values and addresses of services. */
  readonly references: ReferenceValues;
}

const REF_KIND: Record<string, string> = { fromDatabase: "database", fromKeyValue: "keyValue", fromService: "service" };

export function makeSealer(deps: SealerDeps): EnvSealer {
  return {
    async seal(env: EnvironmentRow, service: ServiceRow): Promise<string> {
      const project = deps.store.projects.byId(env.projectId);
      if (!project) throw new BerthError("BERTH_NOT_FOUND", { kind: "project", name: env.projectId });
      const ref = { id: project.id, name: project.name };
      const { vars, groups } = (service.inputs as ReleaseInputs).env as { vars: EnvMap; groups: readonly string[] };
      const owner: SecretOwner = `service:${service.name}`;
      const wanted = Object.entries(vars)
        .filter(([, s]) => s.kind === "generate")
        .map(([name]) => ({ owner, name }));
      if (wanted.length) deps.secrets.store.ensureGenerated(ref, env.name, wanted, "system");
      const opened = deps.secrets.store.openAll(ref, env.name);
      const refs = await deps.references(env);
      const groupValue = (group: string, key: string): string | undefined => opened[`group:${group}` as SecretOwner]?.[key];

      const out: Record<string, string> = {};
      // Groups first; the service's own variables override them.
      for (const g of groups) Object.assign(out, opened[`group:${g}` as SecretOwner] ?? {});
      const resolving = new Set<string>();
      const resolve = (name: string, source: EnvSource): string => {
        const fail = (reason: string): never => {
          throw new BerthError("BERTH_ENV_UNRESOLVED", { count: 1, service: service.name, variable: name, reason });
        };
        switch (source.kind) {
          case "literal":
            return source.value;
          case "generate":
          case "secret": {
            const v = opened[owner]?.[name];
            return v ?? fail(`secret not set yet: berth env set ${service.name} ${name}=... --env ${env.name}`);
          }
          case "fromGroup":
            return groupValue(source.name, source.key) ?? fail(`env group '${source.name}' has no ${source.key}`);
          case "fromDatabase":
          case "fromKeyValue":
          case "fromService": {
            const kind = REF_KIND[source.kind]!;
            const v = refs[`${kind}:${source.name}`]?.[source.property];
            return v ?? fail(`${kind} '${source.name}' has no ${source.property} (is it provisioned?)`);
          }
          case "fromServiceEnv":
            return fail(`reading another service's variable (${source.name}.${source.envVarKey}) is not supported yet`);
          case "interpolated": {
            if (resolving.has(name)) fail("interpolation cycle");
            resolving.add(name);
            const text = source.parts.map((p: TemplatePart) => {
              if (p.kind === "text") return p.text;
              if (p.kind === "var") {
                const inner = vars[p.key];
                if (inner) return resolve(p.key, inner);
                return out[p.key] ?? fail(`\${${p.key}} is not defined`);
              }
              return refs[`${p.target}:${p.name}`]?.[p.property] ?? fail(`\${${p.name}.${p.property}} is not available`);
            });
            resolving.delete(name);
            return text.join("");
          }
        }
      };
      for (const [name, source] of Object.entries(vars)) out[name] = resolve(name, source);
      return sealEnv(deps.secrets.keyring, ref, out, { environment: env.name, service: service.name });
    },
  };
}
