/**
 * Environments as overrides: a deep merge of `environments.<name>` over the base document, then
 * the same normalization as the base. Previews start from `previews.baseEnvironment` and apply
 * each service's `preview` settings.
 */
import { BerthError } from "../core/errors.ts";
import { Reporter } from "./diagnostics.ts";
import { normalize } from "./normalize.ts";
import type { RawBlueprint } from "./schema/root.ts";
import type { Blueprint, EnvMap, Environment, Route, Service } from "./types.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Objects merge key by key, anything else replaces, `null` removes the field. `depth` stops the
 * merge where a value is atomic even though it is an object: an env var's source replaces the
 * base one (merging `{ fromDatabase }` with `{ value }` would name two sources).
 */
export function deepMerge(base: unknown, over: unknown, atomicAt: (path: readonly string[]) => boolean = () => false, path: readonly string[] = []): unknown {
  if (over === undefined) return base;
  if (!isObj(base) || !isObj(over) || atomicAt(path)) return over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = deepMerge(base[k], v, atomicAt, [...path, k]);
  }
  return out;
}

/** Env var values inside a section entry: services.<s>.env.<K>, services.<s>.preview.env.<K>, envGroups.<g>.<K>. */
function envValueAt(section: string, path: readonly string[]): boolean {
  if (section === "envGroups") return path.length === 2;
  if (section !== "services") return false;
  return (path.length === 3 && path[1] === "env") || (path.length === 4 && path[1] === "preview" && path[2] === "env");
}

const SECTIONS = ["services", "databases", "keyValues", "envGroups"] as const;

/** The base document with one environment's overrides applied (not yet re-validated). */
export function mergeEnvironment(source: Obj, envName: string): Obj {
  const env = ((source.environments as Obj | undefined)?.[envName] ?? {}) as Obj;
  const out: Obj = { ...source };
  for (const section of SECTIONS) {
    const over = env[section];
    if (isObj(over)) out[section] = deepMerge(source[section] ?? {}, over, (p) => envValueAt(section, p));
  }
  return out;
}

/** Where an error found in a merged environment document should point: the override if it set the field. */
export function overridePath(source: Obj, envName: string, path: readonly (string | number)[]): readonly (string | number)[] {
  const section = path[0];
  if (typeof section !== "string" || !(SECTIONS as readonly string[]).includes(section) || path.length < 2) return path;
  const env = ((source.environments as Obj | undefined)?.[envName] ?? {}) as Obj;
  let node: unknown = env;
  let depth = 0;
  for (const part of path) {
    if (!isObj(node) || !(String(part) in node)) break;
    node = node[String(part)];
    depth++;
  }
  // The override set this entry (or a field on the way to it, beyond the entry's name).
  return depth >= 3 || depth === path.length ? ["environments", envName, ...path] : path;
}

/** Issue 19: the environment a pull request's preview runs as; its generated hosts read `<service>-pr-<n>-<project>`. */
export function previewEnvironmentName(number: number): string {
  return `pr-${number}`;
}

/** True for preview environment names: `pr-<n>` (and the older spelling `preview-...`). */
export function isPreviewEnvironment(name: string): boolean {
  return /^pr-[1-9][0-9]{0,8}$/.test(name) || name.startsWith("preview");
}

/**
 * The blueprint as one environment runs it: overrides applied, `environment` set. Environment
 * names not defined in the file are accepted for previews (`pr-<n>`) when previews are on,
 * and `development` (what `berth up` runs) always is.
 * Throws BERTH_BLUEPRINT_ENVIRONMENT_UNKNOWN otherwise.
 */
export function resolveEnvironment(bp: Blueprint, envName: string): Blueprint {
  const declared = bp.environments.find((e) => e.name === envName);
  const isPreview = !declared && isPreviewEnvironment(envName) && bp.previews.mode !== "off";
  // `berth up` runs any blueprint locally as `development`: the base blueprint, no overrides.
  const isDevelopment = !declared && envName === "development";
  if (!declared && !isPreview && !isDevelopment) {
    throw new BerthError("BERTH_BLUEPRINT_ENVIRONMENT_UNKNOWN", { name: envName, known: bp.environments.map((e) => e.name).join(", ") || "none" });
  }
  const baseName = declared ? envName : isPreview ? bp.previews.baseEnvironment : undefined;
  let merged = baseName ? mergeEnvironment(bp.source as Obj, baseName) : (bp.source as Obj);
  // Issue 19: previews never receive secrets unless the blueprint names them (previewSecrets).
  if (isPreview) merged = previewSecrets(merged, bp.previews.envGroups).doc;
  // The source was validated at parse time, so this reporter stays empty; it only satisfies normalize.
  const resolved = normalize(merged as RawBlueprint, new Reporter("", () => ({ line: 1, column: 1 })));
  const environment: Environment = declared ?? { name: envName, autoDeploy: true, approvalRequired: false };
  // Issue 20: the environment's own engine, else the blueprint's (previews: their base's).
  const engine = (declared ?? (baseName ? bp.environments.find((e) => e.name === baseName) : undefined))?.engine ?? bp.engine;
  if (!isPreview) return { ...resolved, engine, environment, source: bp.source };
  const marks = previewMarks(envName);
  const seed = bp.previews.data.mode === "seed";
  const services = resolved.services.filter((s) => s.preview.replicas > 0).map((s) => previewService(s, marks, seed, bp.previews.sleepAfterMs));
  return { ...resolved, engine, services, environment, source: bp.source };
}

/** Variables every preview instance gets (Render's IS_PULL_REQUEST, and Berth's own). */
function previewMarks(envName: string): EnvMap {
  const n = /^pr-(\d+)$/.exec(envName)?.[1];
  const lit = (value: string) => ({ kind: "literal", value }) as const;
  return { IS_PULL_REQUEST: lit("true"), BERTH_PREVIEW: lit("true"), BERTH_ENVIRONMENT_KIND: lit("preview"), ...(n ? { BERTH_PULL_REQUEST: lit(n) } : {}) };
}

/**
 * A service as previews run it: sized down (preview replicas and limits, no autoscaling), its
 * `preview.env` over its env, no custom domains (only the generated `<service>-pr-<n>-...` host:
 * a preview must never answer for production's names), and `initialDeploy` only in `seed` mode.
 */
function previewService(s: Service, marks: EnvMap, seed: boolean, sleepAfterMs: number | null): Service {
  const env = { ...s.env, ...s.preview.env, ...marks };
  // Issue 19: routed services sleep when idle (their own `sleepAfter` wins over `previews.sleepAfter`).
  const sleepMs = s.type === "web" || s.type === "static" ? (s.sleepAfterMs ?? sleepAfterMs) : null;
  const sleep = sleepMs !== null && sleepMs !== undefined && sleepMs > 0 ? { sleepAfterMs: sleepMs } : {};
  if (s.type === "cron") return { ...s, env, ...(s.preview.limits ? { limits: s.preview.limits } : {}) };
  if (s.type === "static") return { ...s, env, replicas: s.preview.replicas, domains: [], routes: s.routes.filter((r) => !r.domain), ...sleep };
  const { scaling: _dropped, initialDeploy, ...rest } = s as Service & { scaling?: unknown; initialDeploy?: string };
  const routed = "domains" in rest ? { domains: [], routes: (rest as { routes: readonly Route[] }).routes.filter((r) => !r.domain) } : {};
  return {
    ...rest,
    ...routed,
    ...(seed && initialDeploy ? { initialDeploy } : {}),
    env,
    replicas: s.singleton ? 1 : s.preview.replicas,
    ...(s.preview.limits ? { limits: s.preview.limits } : {}),
    ...sleep,
  } as Service;
}

type EnvValue = string | number | boolean | Obj;

/**
 * Pure (issue 19). The document previews are normalized from: a variable naming `previewValue`
 * takes it; every other `secret: true` variable becomes empty — in services' env and in env
 * groups, except groups listed in `previews.envGroups` — and is listed in `unset` (shown in the
 * preview's status). Plain values written in the file stay: they are not secrets. So a preview
 * never reads a secret set for production (or project-wide) unless the blueprint says so.
 */
export function previewSecrets(doc: Obj, allowedGroups: readonly string[]): { doc: Obj; unset: string[] } {
  const unset: string[] = [];
  const mapEnv = (env: unknown, where: string, keep: (key: string) => boolean, secretsAllowed: boolean): unknown => {
    if (!isObj(env)) return env;
    const out: Obj = {};
    for (const [key, value] of Object.entries(env as Record<string, EnvValue>)) {
      if (!isObj(value)) out[key] = value;
      else if (value.previewValue !== undefined) out[key] = String(value.previewValue);
      else if (value.secret === true && !secretsAllowed) {
        out[key] = "";
        if (!keep(key)) unset.push(`${where}.${key}`);
      } else out[key] = value;
    }
    return out;
  };
  const out: Obj = { ...doc };
  if (isObj(doc.services)) {
    out.services = Object.fromEntries(
      Object.entries(doc.services).map(([name, svc]) => {
        if (!isObj(svc)) return [name, svc];
        const own = isObj(svc.preview) && isObj(svc.preview.env) ? svc.preview.env : {};
        return [name, { ...svc, env: mapEnv(svc.env, `services.${name}.env`, (k) => k in own, false) }];
      }),
    );
  }
  if (isObj(doc.envGroups)) {
    out.envGroups = Object.fromEntries(Object.entries(doc.envGroups).map(([name, vars]) => [name, mapEnv(vars, `envGroups.${name}`, () => false, allowedGroups.includes(name))]));
  }
  return { doc: out, unset };
}
