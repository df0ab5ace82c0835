/**
 * Deprecated and foreign field names (Render's `startCommand`, `numInstances`, ...) rewritten to
 * Berth's before the schema runs, so the schema stays strict and lists one name per field. Each
 * rewrite is a warning, and the renamed paths are remembered so errors still point at the text
 * the user wrote.
 */
import type { Path } from "./diagnostics.ts";

type Obj = Record<string, unknown>;

export interface AliasResult {
  readonly value: unknown;
  readonly warnings: readonly { readonly path: Path; readonly alias: string; readonly name: string }[];
  /** Maps a rewritten path (JSON of the new path) to the key written in the source. */
  readonly renamed: ReadonlyMap<string, string>;
}

const SERVICE_ALIASES: Record<string, string> = {
  buildCommand: "build",
  startCommand: "start",
  preDeployCommand: "preDeploy",
  healthCheckPath: "health",
  numInstances: "replicas",
  staticPublishPath: "publishDir",
  autoscaling: "scaling",
  disk: "disks",
  envVars: "env",
};
const SCALING_ALIASES: Record<string, string> = { minInstances: "min", maxInstances: "max", targetCPUPercent: "cpu", targetMemoryPercent: "memory", targetCPU: "cpu", targetMemory: "memory", targetP95: "p95" };
const DATABASE_ALIASES: Record<string, string> = { postgresMajorVersion: "postgres" };
const KEYVALUE_ALIASES: Record<string, string> = { maxmemoryPolicy: "eviction" };
const ENV_ALIASES: Record<string, string> = { generateValue: "generate", sync: "secret" };

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Rewrites aliases in a copy of the document; the input is not modified. */
export function rewriteAliases(doc: unknown): AliasResult {
  const warnings: { path: Path; alias: string; name: string }[] = [];
  const renamed = new Map<string, string>();
  if (!isObj(doc)) return { value: doc, warnings, renamed };

  const rename = (obj: Obj, table: Record<string, string>, path: Path, fix?: (alias: string, v: unknown, obj: Obj) => unknown): Obj => {
    let out = obj;
    for (const [alias, name] of Object.entries(table)) {
      if (!(alias in obj) || name in obj) continue;
      if (out === obj) out = { ...obj };
      const v = out[alias];
      delete out[alias];
      out[name] = fix ? fix(alias, v, out) : v;
      // `sync: false` means "a secret set later": say it the way it is written.
      warnings.push(alias === "sync" ? { path: [...path, alias], alias: "sync: false", name: "secret: true" } : { path: [...path, alias], alias, name });
      renamed.set(JSON.stringify([...path, name]), alias);
    }
    return out;
  };

  const fixEnv = (env: unknown, path: Path): unknown => {
    // Render's list form (`- key: K` + source) is turned into a map when every item has a key.
    if (Array.isArray(env)) {
      if (!env.every((item) => isObj(item) && typeof item.key === "string")) return env;
      warnings.push({ path, alias: "- key: ... list", name: "KEY: value map" });
      const map: Obj = {};
      for (const item of env as Obj[]) {
        const { key, ...rest } = item;
        map[key as string] = "value" in rest && Object.keys(rest).length === 1 ? rest.value : rest;
      }
      return fixEnv(map, path);
    }
    if (!isObj(env)) return env;
    const out: Obj = {};
    for (const [k, v] of Object.entries(env)) {
      out[k] = isObj(v) ? rename(v, ENV_ALIASES, [...path, k], (alias, value) => (alias === "sync" ? (value === false ? true : value) : value)) : v;
    }
    return out;
  };

  const fixService = (svc: unknown, path: Path): unknown => {
    if (!isObj(svc)) return svc;
    const table = svc.type === "cron" ? { ...SERVICE_ALIASES, startCommand: "command", start: "command" } : SERVICE_ALIASES;
    let out = rename(svc, table, path, (alias, v) => (alias === "disk" && isObj(v) ? [v] : v));
    if (isObj(out.scaling)) out = { ...out, scaling: rename(out.scaling, SCALING_ALIASES, [...path, "scaling"]) };
    if (out.env !== undefined) out = { ...out, env: fixEnv(out.env, [...path, "env"]) };
    return out;
  };

  const mapEach = (v: unknown, path: Path, fn: (item: unknown, p: Path) => unknown): unknown => {
    if (!isObj(v)) return v;
    const out: Obj = {};
    for (const [k, item] of Object.entries(v)) out[k] = fn(item, [...path, k]);
    return out;
  };

  const value: Obj = { ...doc };
  if ("services" in value) value.services = mapEach(value.services, ["services"], fixService);
  if ("databases" in value) value.databases = mapEach(value.databases, ["databases"], (d, p) => (isObj(d) ? rename(d, DATABASE_ALIASES, p) : d));
  if ("keyValues" in value) value.keyValues = mapEach(value.keyValues, ["keyValues"], (d, p) => (isObj(d) ? rename(d, KEYVALUE_ALIASES, p) : d));
  if ("envGroups" in value) value.envGroups = mapEach(value.envGroups, ["envGroups"], (g, p) => fixEnv(g, p));
  if ("environments" in value) {
    value.environments = mapEach(value.environments, ["environments"], (env, p) =>
      isObj(env) && isObj(env.services) ? { ...env, services: mapEach(env.services, [...p, "services"], fixService) } : env,
    );
  }
  return { value, warnings, renamed };
}

/** Translates a path of the rewritten document back to the keys written in the source. */
export function sourcePath(path: Path, renamed: ReadonlyMap<string, string>): Path {
  if (renamed.size === 0) return path;
  const out: (string | number)[] = [];
  for (let i = 0; i < path.length; i++) {
    const original = renamed.get(JSON.stringify(path.slice(0, i + 1)));
    out.push(original ?? path[i]!);
  }
  return out;
}
