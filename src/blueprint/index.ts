/**
 * The blueprint (`berth.yaml`): parse, validate, normalize, resolve environments, export the
 * JSON Schema, and import other platforms' files. Everything else reads blueprints through here.
 */
export { alertSecretRefs } from "./alerts.ts";
export { drainSecretRefs } from "./drains.ts";
export type { Diagnostic } from "./diagnostics.ts";
export { resolveEnvironment } from "./environments.ts";
export { blueprintJsonSchema } from "./json-schema.ts";
export { loadBlueprintFile } from "./load.ts";
export { DEFAULT_HEALTH } from "./normalize.ts";
export { type ParseResult, parseBlueprint } from "./parse.ts";
export { FIRST_UNPRIVILEGED_PORT, type HostPolicy } from "./policy.ts";
export type * from "./types.ts";
export { detectKind, type ImportKind, type ImportResult, importFile, importText } from "./importers/index.ts";
