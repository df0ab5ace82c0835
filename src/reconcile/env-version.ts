/**
 * Env versions: what makes a secret or env-group change roll exactly the services it reaches.
 *
 * A service's env version is a digest of the secret rows its env can read — its own
 * (`service:<name>`), those of the groups it attaches or reads from (`fromGroup`), and,
 * transitively, those of services it reads variables from (`fromServiceEnv`) — in this
 * environment and in `*`. It is part of the service's inputs digest, so when it changes the
 * reconciler cuts a new release (sealing the new values) and rolls the service.
 *
 * Only rows set by a person count (`source = set`): generated secrets are created during the
 * first deploy, and counting them would make that deploy cut a second release. Digests use
 * names and update times, never ciphertexts: a data-key rotation re-encrypts values without
 * rolling anything. No rows -> "" (the digest is then the one a sync without secrets records).
 */
import { createHash } from "node:crypto";
import type { Clock } from "../core/clock.ts";
import { inputsDigest, type ReleaseInputs } from "../deploy/inputs.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { Store } from "../store/store.ts";

/** The parts of a (resolved, normalized) blueprint that say who reads whose variables. */
export interface EnvGraphShape {
  readonly services: readonly { readonly name: string; readonly env?: Readonly<Record<string, unknown>>; readonly envGroups?: readonly string[] }[];
  readonly envGroups?: readonly { readonly name: string; readonly env?: Readonly<Record<string, unknown>> }[];
}

/** What this module reads of the secret rows (`SecretRepository` fits). */
export interface SecretRowsView {
  listValues(
    projectId: string,
    filter?: { environments?: readonly string[] },
  ): readonly { readonly environment: string; readonly owner: string; readonly name: string; readonly source: string; readonly updatedAt: string }[];
}

interface Ref {
  readonly kind?: string;
  readonly name?: string;
  readonly parts?: readonly { readonly kind?: string; readonly target?: string; readonly name?: string }[];
}

/** A managed resource's secret owner (its password, and SERVER after a promoted restore). */
const resourceOwner = (target: string | undefined, name: string): string | undefined =>
  target === "database" ? `group:resource-db-${name}` : target === "keyValue" ? `group:resource-kv-${name}` : undefined;

/** Secret owners whose values can reach `service`'s env (itself, its groups, services it reads). */
export function ownersReaching(bp: EnvGraphShape, service: string): Set<string> {
  return ownersIndex(bp)(service);
}

/** `ownersReaching` for every service of one blueprint, its maps built once (linear, not quadratic, at 5,000 services). */
export function ownersIndex(bp: EnvGraphShape): (service: string) => Set<string> {
  const services = new Map(bp.services.map((s) => [s.name, s]));
  const groups = new Map((bp.envGroups ?? []).map((g) => [g.name, g]));
  return (service) => ownersFrom(services, groups, service);
}

function ownersFrom(
  services: ReadonlyMap<string, EnvGraphShape["services"][number]>,
  groups: ReadonlyMap<string, NonNullable<EnvGraphShape["envGroups"]>[number]>,
  service: string,
): Set<string> {
  const owners = new Set<string>();
  const visitEnv = (env: Readonly<Record<string, unknown>> | undefined) => {
    for (const source of Object.values(env ?? {}) as Ref[]) {
      if (source?.kind === "fromGroup" && source.name) visitGroup(source.name);
      if (source?.kind === "fromServiceEnv" && source.name) visitService(source.name);
      // Resource references (data CLI, issue 7): a promoted restore moves the server, so its row rolls readers.
      const refs = source?.kind === "fromDatabase" ? [{ target: "database", name: source.name }] : source?.kind === "fromKeyValue" ? [{ target: "keyValue", name: source.name }] : (source?.parts ?? []).filter((p) => p.kind === "ref");
      for (const r of refs) {
        const owner = r.name ? resourceOwner(r.target, r.name) : undefined;
        if (owner) owners.add(owner);
      }
    }
  };
  const visitGroup = (name: string) => {
    if (owners.has(`group:${name}`)) return;
    owners.add(`group:${name}`);
    visitEnv(groups.get(name)?.env);
  };
  const visitService = (name: string) => {
    if (owners.has(`service:${name}`)) return;
    owners.add(`service:${name}`);
    const s = services.get(name);
    for (const g of s?.envGroups ?? []) visitGroup(g);
    visitEnv(s?.env);
  };
  visitService(service);
  return owners;
}

/**
 * Env version per service of one environment: `(service) => version`. `projectId` undefined
 * (a project's first sync) means no secrets yet.
 */
export function envVersions(rows: SecretRowsView, projectId: string | undefined, environment: string, bp: EnvGraphShape): (service: string) => string {
  const all = projectId ? rows.listValues(projectId, { environments: [environment, "*"] }).filter((r) => r.source === "set") : [];
  if (all.length === 0) return () => "";
  const reaching = ownersIndex(bp);
  return (service) => {
    const owners = reaching(service);
    const mine = all
      .filter((r) => owners.has(r.owner))
      .map((r) => `${r.environment}\u0000${r.owner}\u0000${r.name}\u0000${r.updatedAt}`)
      .sort();
    return mine.length === 0 ? "" : createHash("sha256").update(mine.join("\n")).digest("hex");
  };
}

export interface EnvChangeDeps {
  readonly store: Store;
  readonly rows: SecretRowsView;
  readonly clock: Clock;
}

/**
 * After a change to `owner`'s values in `environment` (`*` = all) of a project: re-records the
 * inputs digest of every service that `owner` reaches, in every affected environment. Returns
 * the ids of environments where a digest changed (the caller requests their reconcile).
 */
export function recordEnvChange(deps: EnvChangeDeps, projectId: string, environment: string, owner: string): string[] {
  const { store } = deps;
  const now = new Date(deps.clock.now()).toISOString();
  const envs = store.environments.list().filter((e) => e.projectId === projectId && (environment === "*" || e.name === environment));
  const changed: string[] = [];
  for (const env of envs) {
    if (rerecord(deps, env, owner, now)) changed.push(env.id);
  }
  return changed;
}

function rerecord(deps: EnvChangeDeps, env: EnvironmentRow, owner: string, now: string): boolean {
  const { store } = deps;
  const bp = env.blueprint as EnvGraphShape;
  if (!bp || !Array.isArray(bp.services)) return false;
  const versionOf = envVersions(deps.rows, env.projectId, env.name, bp);
  const reaching = ownersIndex(bp);
  return store.db.tx(() => {
    const services = store.services.list(env.id);
    let touched = false;
    const next = services.map((s) => {
      if (!reaching(s.name).has(owner)) return s;
      const digest = inputsDigest(s.inputs as ReleaseInputs, s.spec, versionOf(s.name));
      if (digest === s.inputsDigest) return s;
      touched = true;
      return { ...s, inputsDigest: digest };
    });
    if (touched) store.services.replaceAll(env.id, next.map((s) => ({ spec: s.spec, inputs: s.inputs, inputsDigest: s.inputsDigest })), now);
    return touched;
  });
}

/**
 * The SecretStore's `onChange` for the daemon: once per burst of changes (coalesced in a
 * microtask, so a PUT of a thousand values rebuilds the redactor once, not a thousand times,
 * and after its transaction committed), rebuilds the redactor, re-records the digests the
 * changes reach and requests a reconcile of every environment where one changed.
 */
export function secretChangeHandler(
  deps: EnvChangeDeps & { readonly refreshRedactor: () => void; readonly requestReconcile: (environmentId: string) => void },
): (projectId: string, environment: string, owner: string) => void {
  const pending = new Map<string, readonly [string, string, string]>();
  const flush = () => {
    const changes = [...pending.values()];
    pending.clear();
    try {
      deps.refreshRedactor();
    } catch {
      // A value that no longer decrypts cannot leak either; deploys reading it fail loudly.
    }
    const envs = new Set(changes.flatMap(([p, e, o]) => recordEnvChange(deps, p, e, o)));
    for (const id of envs) deps.requestReconcile(id);
  };
  return (projectId, environment, owner) => {
    if (pending.size === 0) queueMicrotask(flush);
    pending.set(`${projectId}\u0000${environment}\u0000${owner}`, [projectId, environment, owner]);
  };
}
