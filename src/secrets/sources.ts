/**
 * Where an environment variable's value comes from: the input union of env resolution. It
 * mirrors the blueprint's env var forms (issue 3) and is a structural supertype of
 * `EnvSource` in src/blueprint/types.ts, so a normalized blueprint's env maps are accepted as
 * they are (checked by test/secrets/blueprint-env.test.ts) without this layer-1 folder importing
 * that one.
 */

/** Properties a database publishes (`pooledConnectionString` when a pooler is configured). */
export const DATABASE_PROPERTIES = ["connectionString", "pooledConnectionString", "host", "port", "user", "password", "database"] as const;
/** Properties a key-value store publishes. */
export const KEY_VALUE_PROPERTIES = ["connectionString", "url", "host", "port", "password"] as const;
/** Properties a service publishes. */
export const SERVICE_PROPERTIES = ["host", "port", "hostport", "url"] as const;
export type ServiceProperty = (typeof SERVICE_PROPERTIES)[number];

export type GeneratedEncoding = "secret" | "hex" | "base64" | "uuid";

export type EnvSource =
  /** A plain value, used as is. */
  | { readonly kind: "literal"; readonly value: string }
  /** `${NAME}` and `${name.property}` inside `template` are replaced; `$$` is a literal `$`. */
  | { readonly kind: "interpolated"; readonly template: string }
  /** A random secret created once per environment and persisted encrypted. */
  | { readonly kind: "generate"; readonly encoding?: GeneratedEncoding; readonly lengthBytes?: number }
  /** A secret whose value is set later (`berth env set`). */
  | { readonly kind: "secret" }
  | { readonly kind: "fromDatabase"; readonly name: string; readonly property: string }
  | { readonly kind: "fromKeyValue"; readonly name: string; readonly property: string }
  | { readonly kind: "fromService"; readonly name: string; readonly property: string }
  /** Another service's (resolved) variable. */
  | { readonly kind: "fromServiceEnv"; readonly name: string; readonly envVarKey: string }
  /** One variable of an env group, without attaching the whole group. */
  | { readonly kind: "fromGroup"; readonly name: string; readonly key: string };

export type EnvVars = Readonly<Record<string, EnvSource>>;

/** One service's env as declared: its own variables and the groups it attaches, in order. */
export interface ServiceEnvDecl {
  readonly vars: EnvVars;
  readonly groups: readonly string[];
  /** Platform values (PORT, BERTH_SERVICE, ...): lowest precedence, never interpolated. */
  readonly defaults?: Readonly<Record<string, string>>;
}

/** What the environment offers to reference; secrets already decrypted. */
export interface AvailableValues {
  /** By owner (`service:api`, `group:external`), then variable name. */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly databases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly keyValues: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly services: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Everything env resolution needs for one environment. Environment overrides are already merged in. */
export interface EnvResolutionInput {
  readonly services: Readonly<Record<string, ServiceEnvDecl>>;
  readonly groups: Readonly<Record<string, EnvVars>>;
  readonly available: AvailableValues;
}
