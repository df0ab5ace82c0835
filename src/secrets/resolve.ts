/**
 * Env resolution: a pure function from declared env sources plus available values to each
 * service's final environment, or to the complete list of problems, each naming the service, the
 * variable and the reason. Precedence, lowest first:
 *
 *   1. platform defaults (PORT, ...)
 *   2. env groups, in the order the service lists them (a later group wins)
 *   3. the service's own `env`
 *
 * Environment overrides are applied before this function runs: the blueprint merges an
 * environment's overrides into each layer, and the secret store returns environment-specific
 * values over `*` ones. Interpolation sees the final, merged variables of the service.
 */
import { BerthError } from "../core/errors.ts";
import { parseTemplate } from "./interpolate.ts";
import type { EnvResolutionInput, EnvSource, GeneratedEncoding } from "./sources.ts";

export type EnvErrorReason = "missing-secret" | "missing-reference" | "unknown-property" | "cycle" | "bad-interpolation" | "dependency-failed";

export interface EnvError {
  readonly service: string;
  readonly variable: string;
  readonly reason: EnvErrorReason;
  readonly message: string;
}

/** Where a final variable came from, for `berth env list`. */
export type VarOrigin = "default" | "service" | `group:${string}`;

export interface ResolvedServiceEnv {
  readonly env: Readonly<Record<string, string>>;
  readonly origins: Readonly<Record<string, VarOrigin>>;
  /** Variables holding or derived from secrets, passwords or connection strings. */
  readonly sensitive: readonly string[];
}

export type EnvResolution =
  | { readonly ok: true; readonly services: Readonly<Record<string, ResolvedServiceEnv>> }
  | { readonly ok: false; readonly errors: readonly EnvError[] };

type Layered = { readonly source: EnvSource | { readonly kind: "plain"; readonly value: string }; readonly origin: VarOrigin; readonly owner: string };
type Value = { readonly value: string; readonly sensitive: boolean };

const SENSITIVE_PROPERTIES = new Set(["password", "connectionString", "pooledConnectionString", "url"]);

/** A generated secret that has no value yet. */
export interface WantedGenerated {
  readonly owner: `service:${string}` | `group:${string}`;
  readonly name: string;
  readonly encoding?: GeneratedEncoding;
  readonly lengthBytes?: number;
}

/** Lists the `generate` variables that have no value yet: `SecretStore.ensureGenerated` input. */
export function missingGenerated(input: EnvResolutionInput): WantedGenerated[] {
  const out = new Map<string, WantedGenerated>();
  const visit = (owner: `service:${string}` | `group:${string}`, vars: Readonly<Record<string, EnvSource>>) => {
    for (const [name, src] of Object.entries(vars)) {
      if (src.kind === "generate" && input.available.secrets[owner]?.[name] === undefined) {
        out.set(`${owner}/${name}`, { owner, name, ...(src.encoding ? { encoding: src.encoding } : {}), ...(src.lengthBytes ? { lengthBytes: src.lengthBytes } : {}) });
      }
    }
  };
  for (const [svc, decl] of Object.entries(input.services)) visit(`service:${svc}`, decl.vars);
  for (const [g, vars] of Object.entries(input.groups)) visit(`group:${g}`, vars);
  return [...out.values()];
}

/**
 * Resolves every service of the environment, or only those in `only` (variables of other
 * services are then evaluated just where a wanted one references them).
 */
export interface ResolveOptions {
  readonly only?: readonly string[];
  /**
   * `empty`: a declared `secret: true` variable that has no value yet resolves to "" (local
   * development with `berth up`); `error` (default): the deploy is refused, naming it.
   */
  readonly unsetSecrets?: "error" | "empty";
}

export function resolveEnv(input: EnvResolutionInput, options: ResolveOptions = {}): EnvResolution {
  const errors: EnvError[] = [];
  const failed = new Set<string>();
  const layers = new Map<string, Map<string, Layered>>();
  const state = new Map<string, "visiting" | Value | null>();
  const stack: string[] = [];

  const report = (service: string, variable: string, reason: EnvErrorReason, message: string) => {
    const key = `${service}\u0000${variable}`;
    if (failed.has(key)) return;
    failed.add(key);
    errors.push({ service, variable, reason, message });
  };

  const layered = (svc: string): Map<string, Layered> => {
    const cached = layers.get(svc);
    if (cached) return cached;
    const decl = input.services[svc]!;
    const m = new Map<string, Layered>();
    for (const [k, v] of Object.entries(decl.defaults ?? {})) m.set(k, { source: { kind: "plain", value: v }, origin: "default", owner: `service:${svc}` });
    for (const g of decl.groups) {
      const vars = input.groups[g];
      if (!vars) {
        report(svc, `envGroups[${g}]`, "missing-reference", `env group '${g}' does not exist`);
        continue;
      }
      for (const [k, v] of Object.entries(vars)) m.set(k, { source: v, origin: `group:${g}`, owner: `group:${g}` });
    }
    for (const [k, v] of Object.entries(decl.vars)) m.set(k, { source: v, origin: "service", owner: `service:${svc}` });
    layers.set(svc, m);
    return m;
  };

  /** Evaluates variable `name` of service `svc`; null when it (or something it needs) failed. */
  const evaluate = (svc: string, name: string): Value | null => {
    const key = `${svc}\u0000${name}`;
    const st = state.get(key);
    if (st === "visiting") {
      const from = stack.indexOf(key);
      const path = [...stack.slice(from), key].map((k) => k.replace("\u0000", ".")).join(" -> ");
      report(svc, name, "cycle", `reference cycle: ${path}`);
      return null;
    }
    if (st !== undefined) return st;
    const entry = layered(svc).get(name);
    if (!entry) return null;
    state.set(key, "visiting");
    stack.push(key);
    const result = evalSource(svc, name, entry.source, entry.owner, 0);
    stack.pop();
    state.set(key, result);
    return result;
  };

  const dependency = (svc: string, name: string, depSvc: string, depName: string): Value | null => {
    const v = evaluate(depSvc, depName);
    if (v === null) report(svc, name, "dependency-failed", `depends on ${depSvc}.${depName}, which cannot be resolved`);
    return v;
  };

  const property = (svc: string, name: string, kindLabel: string, table: Readonly<Record<string, Readonly<Record<string, string | undefined>>>>, target: string, prop: string): Value | null => {
    const props = table[target];
    if (!props) {
      report(svc, name, "missing-reference", `no ${kindLabel} named '${target}'`);
      return null;
    }
    const value = props[prop];
    if (value === undefined) {
      report(svc, name, "unknown-property", `${kindLabel} '${target}' has no property '${prop}' (it has: ${Object.keys(props).join(", ") || "none"})`);
      return null;
    }
    return { value, sensitive: SENSITIVE_PROPERTIES.has(prop) };
  };

  const evalSource = (svc: string, name: string, src: Layered["source"], owner: string, depth: number, secretName = name): Value | null => {
    const a = input.available;
    switch (src.kind) {
      case "plain":
      case "literal":
        return { value: src.value, sensitive: false };
      case "secret":
      case "generate": {
        const value = a.secrets[owner]?.[secretName];
        if (value !== undefined) return { value, sensitive: true };
        if (src.kind === "secret" && options.unsetSecrets === "empty") return { value: "", sensitive: false };
        const how =
          src.kind === "secret"
            ? `run \`berth env set ${secretName}=... --${owner.replace(":", " ")}\``
            : "it is created at deploy; the deploy must create generated secrets before resolving";
        report(svc, name, "missing-secret", `${src.kind === "secret" ? "secret" : "generated secret"} ${secretName} of ${owner} has no value; ${how}`);
        return null;
      }
      case "fromDatabase":
        return property(svc, name, "database", a.databases, src.name, src.property);
      case "fromKeyValue":
        return property(svc, name, "key-value store", a.keyValues, src.name, src.property);
      case "fromService":
        return property(svc, name, "service", a.services, src.name, src.property);
      case "fromServiceEnv": {
        if (!input.services[src.name]) {
          report(svc, name, "missing-reference", `no service named '${src.name}'`);
          return null;
        }
        if (!layered(src.name).has(src.envVarKey)) {
          report(svc, name, "missing-reference", `service '${src.name}' has no variable ${src.envVarKey}`);
          return null;
        }
        return dependency(svc, name, src.name, src.envVarKey);
      }
      case "fromGroup": {
        const target = input.groups[src.name]?.[src.key];
        if (!input.groups[src.name]) report(svc, name, "missing-reference", `env group '${src.name}' does not exist`);
        else if (!target) report(svc, name, "missing-reference", `env group '${src.name}' has no variable ${src.key}`);
        else if (depth > 0 || target.kind === "fromGroup") report(svc, name, "bad-interpolation", `fromGroup ${src.name}.${src.key} points at another fromGroup`);
        else return evalSource(svc, name, target, `group:${src.name}`, depth + 1, src.key);
        return null;
      }
      case "interpolated": {
        const parsed = parseTemplate(src.template);
        if (!parsed.ok) {
          report(svc, name, "bad-interpolation", parsed.error);
          return null;
        }
        let out = "";
        let sensitive = false;
        for (const part of parsed.parts) {
          let v: Value | null;
          if (part.kind === "text") v = { value: part.text, sensitive: false };
          else if (part.kind === "var") {
            if (!layered(svc).has(part.name)) {
              report(svc, name, "missing-reference", `\${${part.name}}: service '${svc}' has no variable ${part.name}`);
              return null;
            }
            v = dependency(svc, name, svc, part.name);
          } else v = interpolatedProperty(svc, name, part.target, part.property);
          if (v === null) return null;
          out += v.value;
          sensitive ||= v.sensitive;
        }
        return { value: out, sensitive };
      }
    }
  };

  const interpolatedProperty = (svc: string, name: string, target: string, prop: string): Value | null => {
    const a = input.available;
    const tables = [
      ["service", a.services],
      ["database", a.databases],
      ["key-value store", a.keyValues],
    ] as const;
    // Same precedence as the blueprint's reference check: service, then database, then key-value.
    const hit = tables.find(([, t]) => t[target] !== undefined);
    if (!hit) {
      report(svc, name, "missing-reference", `\${${target}.${prop}}: no service, database or key-value store named '${target}'`);
      return null;
    }
    const [label, table] = hit;
    return property(svc, name, label, table as Readonly<Record<string, Readonly<Record<string, string | undefined>>>>, target, prop);
  };

  const services: Record<string, ResolvedServiceEnv> = {};
  for (const svc of Object.keys(input.services)) {
    if (options.only && !options.only.includes(svc)) continue;
    const env: Record<string, string> = {};
    const origins: Record<string, VarOrigin> = {};
    const sensitive: string[] = [];
    for (const [name, entry] of layered(svc)) {
      const v = evaluate(svc, name);
      if (v === null) continue;
      env[name] = v.value;
      origins[name] = entry.origin;
      if (v.sensitive) sensitive.push(name);
    }
    services[svc] = { env, origins, sensitive };
  }
  if (errors.length > 0) {
    // Root causes first; "depends on" errors after them.
    const rank = (e: EnvError) => (e.reason === "dependency-failed" ? 1 : 0);
    return { ok: false, errors: [...errors].sort((x, y) => rank(x) - rank(y)) };
  }
  return { ok: true, services };
}

/** Returns the services' envs, or throws BERTH_ENV_UNRESOLVED listing every problem in `details`. */
export function requireResolved(resolution: EnvResolution): Readonly<Record<string, ResolvedServiceEnv>> {
  if (resolution.ok) return resolution.services;
  const first = resolution.errors[0]!;
  throw new BerthError(
    "BERTH_ENV_UNRESOLVED",
    { count: resolution.errors.length, service: first.service, variable: first.variable, reason: first.message },
    { details: resolution.errors },
  );
}
