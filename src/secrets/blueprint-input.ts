/**
 * Builds env resolution input from a normalized blueprint (src/blueprint/types.ts), described
 * here structurally so this folder does not import that one (same layer). The blueprint's
 * `EnvSource` is assignable to ours; environment overrides are already applied by
 * `resolveEnvironment` in the blueprint module.
 */
import type { AvailableValues, EnvResolutionInput, EnvVars } from "./sources.ts";

/** The parts of a normalized blueprint env resolution reads. */
export interface BlueprintEnvShape {
  readonly services: readonly { readonly name: string; readonly env: EnvVars; readonly envGroups: readonly string[] }[];
  readonly envGroups: readonly { readonly name: string; readonly env: EnvVars }[];
}

export function envInputFromBlueprint(
  blueprint: BlueprintEnvShape,
  available: AvailableValues,
  defaults: (service: string) => Readonly<Record<string, string>> = () => ({}),
): EnvResolutionInput {
  return {
    services: Object.fromEntries(blueprint.services.map((s) => [s.name, { vars: s.env, groups: s.envGroups, defaults: defaults(s.name) }])),
    groups: Object.fromEntries(blueprint.envGroups.map((g) => [g.name, g.env])),
    available,
  };
}
