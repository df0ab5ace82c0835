/**
 * Resolved addresses a release was sealed with (issue 15, level-based truth). A release seals
 * the connection properties of the databases, key-value stores and services its env reads; when
 * one of them moves (a database server started on another port, a restore promoted, a service's
 * route changed) the running release is stale even though nothing the user wrote changed. So a
 * release records a digest of those addresses, and the planner compares it with the digest of
 * the current ones: a difference cuts a new release (re-sealed) and rolls the service.
 *
 * Only non-secret properties count (host, port, user, database name, service URLs): passwords
 * are secrets, whose changes already reach the inputs digest through env versions
 * (reconcile/env-version.ts). Pure: no I/O.
 */
import { createHash } from "node:crypto";
import type { Blueprint, EnvMap } from "../blueprint/types.ts";

/** Properties whose values are (or embed) a secret: never part of the digest. */
const SECRET_PROPERTIES = new Set(["password", "connectionString", "pooledConnectionString", "url"]);
/** Service properties are public addresses: all of them count. */
const SERVICE_SECRETS = new Set<string>();

export interface AddressRefs {
  readonly databases: ReadonlySet<string>;
  readonly keyValues: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
}

/** What the environment offers, minus secrets (the sealer's resource values). */
export interface AddressValues {
  readonly databases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly keyValues: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly services: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

type EnvShape = Pick<Blueprint, "services" | "envGroups">;

/**
 * Databases, key-value stores and services whose properties reach `service`'s env: its own
 * variables, the groups it attaches or reads from, and (transitively) the services whose
 * variables it reads with `fromServiceEnv`.
 */
export function addressRefs(bp: EnvShape, service: string): AddressRefs {
  return addressIndex(bp)(service);
}

/**
 * `addressRefs` for every service of one blueprint, with its name maps built once (called per
 * service of a 5,000-service environment, rebuilding them each time was quadratic).
 */
export function addressIndex(bp: EnvShape): (service: string) => AddressRefs {
  const byName = new Map(bp.services.map((s) => [s.name, s]));
  const groups = new Map((bp.envGroups ?? []).map((g) => [g.name, g]));
  return (service) => refsFrom(byName, groups, service);
}

function refsFrom(byName: ReadonlyMap<string, EnvShape["services"][number]>, groups: ReadonlyMap<string, EnvShape["envGroups"][number]>, service: string): AddressRefs {
  const databases = new Set<string>();
  const keyValues = new Set<string>();
  const services = new Set<string>();
  const seenGroups = new Set<string>();
  const seenServices = new Set<string>();
  const add = (target: string, name: string) => {
    if (target === "database" || target === "fromDatabase") databases.add(name);
    else if (target === "keyValue" || target === "fromKeyValue") keyValues.add(name);
    else if (target === "service" || target === "fromService") services.add(name);
  };
  const visitEnv = (env: EnvMap | undefined) => {
    for (const source of Object.values(env ?? {})) {
      switch (source.kind) {
        case "fromDatabase":
        case "fromKeyValue":
        case "fromService":
          add(source.kind, source.name);
          break;
        case "interpolated":
          for (const p of source.parts) if (p.kind === "ref") add(p.target, p.name);
          break;
        case "fromGroup":
          visitGroup(source.name);
          break;
        case "fromServiceEnv":
          visitService(source.name);
          break;
        default:
          break;
      }
    }
  };
  const visitGroup = (name: string) => {
    if (seenGroups.has(name)) return;
    seenGroups.add(name);
    visitEnv(groups.get(name)?.env);
  };
  const visitService = (name: string) => {
    if (seenServices.has(name)) return;
    seenServices.add(name);
    const s = byName.get(name);
    if (!s) return;
    for (const g of "envGroups" in s ? s.envGroups : []) visitGroup(g);
    visitEnv(s.env);
  };
  visitService(service);
  return { databases, keyValues, services };
}

/** Digest of the current addresses `refs` names ("" when it names none: nothing can go stale). */
export function addressesDigest(refs: AddressRefs, values: AddressValues): string {
  const lines: string[] = [];
  const collect = (kind: string, names: ReadonlySet<string>, table: AddressValues["databases"], secret: ReadonlySet<string>) => {
    for (const name of [...names].sort()) {
      const props = table[name] ?? {};
      const kept = Object.keys(props)
        .filter((k) => !secret.has(k))
        .sort()
        .map((k) => `${k}=${props[k]}`);
      lines.push(`${kind}\u0000${name}\u0000${kept.join("\u0000")}`);
    }
  };
  collect("db", refs.databases, values.databases, SECRET_PROPERTIES);
  collect("kv", refs.keyValues, values.keyValues, SECRET_PROPERTIES);
  collect("svc", refs.services, values.services, SERVICE_SECRETS);
  return lines.length === 0 ? "" : createHash("sha256").update(lines.join("\n")).digest("hex");
}
