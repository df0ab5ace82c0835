import { newId } from "../../core/ids.ts";
import type { ServiceKind, ServiceSpec } from "../../engine/engine.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

export interface ServiceRow {
  readonly id: string;
  readonly environmentId: string;
  readonly name: string;
  readonly kind: string;
  readonly spec: ServiceSpec;
  readonly inputs: unknown;
  readonly inputsDigest: string;
  readonly failedDigest: string | null;
  readonly desiredReleaseId: string | null;
  /** Issue 19: idle time after which the service sleeps (null: never). */
  readonly sleepAfterMs: number | null;
  /** Issue 19: when it was put to sleep (desired state "asleep"); null while awake. */
  readonly asleepSince: string | null;
}

/** What a sync records for one service. */
export interface DesiredServiceInput {
  readonly spec: ServiceSpec;
  readonly inputs: unknown;
  readonly inputsDigest: string;
  /** Issue 19: `sleepAfter` (null: never sleeps; absent: leave what is recorded). */
  readonly sleepAfterMs?: number | null;
}

/** A service that may sleep, with what the sleeper needs to decide (issue 19). */
export interface SleeperRow {
  readonly serviceId: string;
  readonly environmentId: string;
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly sleepAfterMs: number;
  readonly asleepSince: string | null;
  /** Last change of the row (a sync with new inputs, a wake): idle time counts from no earlier. */
  readonly changedAt: string;
}

interface Raw {
  id: string;
  environment_id: string;
  name: string;
  kind: string;
  spec: string;
  inputs: string;
  inputs_digest: string;
  failed_digest: string | null;
  desired_release_id: string | null;
  sleep_after_ms: number | null;
  asleep_since: string | null;
}
const toRow = (r: Raw): ServiceRow => ({
  id: r.id,
  environmentId: r.environment_id,
  name: r.name,
  kind: r.kind,
  spec: fromJson(r.spec),
  inputs: fromJson(r.inputs),
  inputsDigest: r.inputs_digest,
  failedDigest: r.failed_digest,
  desiredReleaseId: r.desired_release_id,
  sleepAfterMs: r.sleep_after_ms ?? null,
  asleepSince: r.asleep_since ?? null,
});

export class ServiceRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Makes the environment's services exactly `services`: upserts each, deletes the rest. Rows
   * whose spec, inputs and digest are unchanged are not written; one light read of what exists
   * (issue 15: a 5,000-service sync must not parse every row twice inside its transaction).
   */
  replaceAll(environmentId: string, services: readonly DesiredServiceInput[], now: string): void {
    this.#db.tx(() => {
      const existing = new Map(
        (this.#db.sql.prepare("SELECT id, name, spec, inputs, inputs_digest, sleep_after_ms FROM services WHERE environment_id = ?").all(environmentId) as {
          id: string;
          name: string;
          spec: string;
          inputs: string;
          inputs_digest: string;
          sleep_after_ms: number | null;
        }[]).map((r) => [r.name, r]),
      );
      const keep = new Set(services.map((s) => s.spec.ref.service));
      const del = this.#db.sql.prepare("DELETE FROM services WHERE id = ?");
      for (const [name, row] of existing) if (!keep.has(name)) del.run(row.id);
      // Issue 19: new inputs (a deploy) wake a sleeping service, so its new release passes the health gate.
      const update = this.#db.sql.prepare(
        "UPDATE services SET kind = ?, spec = ?, replicas = ?, inputs = ?, asleep_since = CASE WHEN inputs_digest = ? THEN asleep_since ELSE NULL END, inputs_digest = ?, updated_at = ? WHERE id = ?",
      );
      const insert = this.#db.sql.prepare(
        "INSERT INTO services (id, environment_id, name, kind, spec, replicas, inputs, inputs_digest, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      // Issue 19: the sleep setting is no part of the spec or the digest: changing it restarts nothing.
      const sleep = this.#db.sql.prepare("UPDATE services SET sleep_after_ms = ?, asleep_since = CASE WHEN ? IS NULL THEN NULL ELSE asleep_since END WHERE id = ?");
      for (const { spec, inputs, inputsDigest, sleepAfterMs } of services) {
        const row = existing.get(spec.ref.service);
        const specText = toJson(spec);
        const inputsText = toJson(inputs);
        if (!row) {
          const id = newId("svc");
          insert.run(id, environmentId, spec.ref.service, spec.kind, specText, spec.replicas, inputsText, inputsDigest, now, now);
          if (sleepAfterMs != null) sleep.run(sleepAfterMs, sleepAfterMs, id);
        } else {
          if (row.spec !== specText || row.inputs !== inputsText || row.inputs_digest !== inputsDigest) update.run(spec.kind, specText, spec.replicas, inputsText, inputsDigest, inputsDigest, now, row.id);
          if (sleepAfterMs !== undefined && (row.sleep_after_ms ?? null) !== sleepAfterMs) sleep.run(sleepAfterMs, sleepAfterMs, row.id);
        }
      }
    });
  }

  /** Marks the inputs whose release or rollout failed, so they are not retried until they change. */
  markFailed(serviceId: string, digest: string | null, now: string): void {
    this.#db.sql.prepare("UPDATE services SET failed_digest = ?, updated_at = ? WHERE id = ?").run(digest, now, serviceId);
  }

  /** Clears the failure mark only if it is still `digest` (a newer failure of other inputs stays). */
  clearFailed(serviceId: string, digest: string, now: string): void {
    this.#db.sql.prepare("UPDATE services SET failed_digest = NULL, updated_at = ? WHERE id = ? AND failed_digest = ?").run(now, serviceId, digest);
  }

  /** Points the service at an older release and its inputs (rollback). */
  pinRelease(serviceId: string, releaseId: string, inputs: unknown, inputsDigest: string, now: string): void {
    this.#db.sql
      .prepare("UPDATE services SET desired_release_id = ?, inputs = ?, inputs_digest = ?, failed_digest = NULL, updated_at = ? WHERE id = ?")
      .run(releaseId, toJson(inputs), inputsDigest, now, serviceId);
  }

  /**
   * What the status of an environment shows per service, in one query without parsing specs or
   * inputs (issue 15: status stays fast at 5,000 services). Services with a problem (failed
   * inputs, fewer healthy instances than replicas) come first; `limit` caps the list.
   */
  statusRows(environmentId: string, limit = -1, offset = 0): { name: string; kind: string; replicas: number; release: number | null; failed: boolean; healthy: number; asleep: boolean }[] {
    return (
      this.#db.sql
        .prepare(
          `SELECT name, kind, replicas, release, failed, healthy, asleep FROM (
             SELECT s.name, s.kind, s.replicas, s.desired_release_id, (s.asleep_since IS NOT NULL) AS asleep,
                    (s.failed_digest IS NOT NULL AND s.failed_digest = s.inputs_digest) AS failed,
                    (SELECT COUNT(*) FROM instances i WHERE i.service_id = s.id AND i.state = 'healthy') AS healthy
             FROM services s WHERE s.environment_id = ?
             ORDER BY (failed OR (s.kind != 'cron' AND s.asleep_since IS NULL AND healthy < s.replicas)) DESC, s.name
             LIMIT ? OFFSET ?) x
           LEFT JOIN (SELECT id, number AS release FROM releases) r ON r.id = x.desired_release_id`,
        )
        .all(environmentId, limit, offset) as { name: string; kind: string; replicas: number; release: number | null; failed: number; healthy: number; asleep: number }[]
    ).map((r) => ({ name: r.name, kind: r.kind, replicas: r.replicas, release: r.release, failed: r.failed === 1, healthy: r.healthy, asleep: r.asleep === 1 }));
  }

  /** Services per project, counting only environments not named `environment` (the one being synced). */
  countByProjectExcept(environment: string): Record<string, number> {
    const rows = this.#db.sql
      .prepare("SELECT p.name AS project, COUNT(*) AS n FROM services s JOIN environments e ON e.id = s.environment_id JOIN projects p ON p.id = e.project_id WHERE e.name != ? GROUP BY p.name")
      .all(environment) as { project: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.project, r.n]));
  }

  count(environmentId: string): number {
    return (this.#db.sql.prepare("SELECT COUNT(*) AS n FROM services WHERE environment_id = ?").get(environmentId) as { n: number }).n;
  }

  /** Autoscaling (issue 18): changes only the desired instance count; the inputs digest stays, so no new release. */
  setReplicas(serviceId: string, replicas: number, now: string): void {
    this.#db.sql.prepare("UPDATE services SET spec = json_set(spec, '$.replicas', ?), replicas = ?, updated_at = ? WHERE id = ?").run(replicas, replicas, now, serviceId);
  }

  /**
   * Issue 19: records the desired state "asleep" (`since`) or "awake" (null). Returns whether it
   * changed, so a repeated wake intent emits no second event.
   */
  setAsleep(serviceId: string, since: string | null, now: string): boolean {
    const r = since
      ? this.#db.sql.prepare("UPDATE services SET asleep_since = ?, updated_at = ? WHERE id = ? AND asleep_since IS NULL AND sleep_after_ms IS NOT NULL").run(since, now, serviceId)
      : this.#db.sql.prepare("UPDATE services SET asleep_since = NULL, updated_at = ? WHERE id = ? AND asleep_since IS NOT NULL").run(now, serviceId);
    return Number(r.changes) > 0;
  }

  /** Issue 19: every service that may sleep, in environments that are not stopped. */
  sleepers(): SleeperRow[] {
    return (
      this.#db.sql
        .prepare(
          `SELECT s.id, s.environment_id, p.name AS project, e.name AS environment, s.name, s.sleep_after_ms, s.asleep_since, s.updated_at
           FROM services s JOIN environments e ON e.id = s.environment_id JOIN projects p ON p.id = e.project_id
           WHERE s.sleep_after_ms IS NOT NULL AND e.status NOT IN ('stopping', 'stopped') ORDER BY p.name, e.name, s.name`,
        )
        .all() as { id: string; environment_id: string; project: string; environment: string; name: string; sleep_after_ms: number; asleep_since: string | null; updated_at: string }[]
    ).map((r) => ({ serviceId: r.id, environmentId: r.environment_id, project: r.project, environment: r.environment, service: r.name, sleepAfterMs: r.sleep_after_ms, asleepSince: r.asleep_since, changedAt: r.updated_at }));
  }

  list(environmentId: string): ServiceRow[] {
    return (this.#db.sql.prepare("SELECT * FROM services WHERE environment_id = ? ORDER BY name").all(environmentId) as unknown as Raw[]).map(toRow);
  }

  /**
   * The environment's services as the reconcile plans them: no build inputs, which only a
   * release cut reads (a resync every 30 s parsed 5,000 of them for nothing, issue 15).
   */
  listForPlan(environmentId: string): Omit<ServiceRow, "inputs">[] {
    const rows = this.#db.sql
      .prepare("SELECT id, environment_id, name, kind, spec, inputs_digest, failed_digest, desired_release_id, sleep_after_ms, asleep_since FROM services WHERE environment_id = ? ORDER BY name")
      .all(environmentId) as unknown as Omit<Raw, "inputs">[];
    return rows.map((r) => ({
      id: r.id,
      environmentId: r.environment_id,
      name: r.name,
      kind: r.kind,
      spec: fromJson(r.spec),
      inputsDigest: r.inputs_digest,
      failedDigest: r.failed_digest,
      desiredReleaseId: r.desired_release_id,
      sleepAfterMs: r.sleep_after_ms ?? null,
      asleepSince: r.asleep_since ?? null,
    }));
  }

  /** What the environment's health reads per service: no spec or inputs parsed. */
  listStates(environmentId: string): { id: string; name: string; kind: ServiceKind; replicas: number; desiredReleaseId: string | null; blocked: boolean; asleep: boolean }[] {
    const rows = this.#db.sql
      .prepare(
        "SELECT id, name, kind, replicas, desired_release_id, (failed_digest IS NOT NULL AND failed_digest = inputs_digest) AS blocked, (asleep_since IS NOT NULL AND sleep_after_ms IS NOT NULL) AS asleep FROM services WHERE environment_id = ? ORDER BY name",
      )
      .all(environmentId) as { id: string; name: string; kind: ServiceKind; replicas: number; desired_release_id: string | null; blocked: number; asleep: number }[];
    // Issue 19: `asleep` — desired state "asleep" (the reconciler runs it with no instances).
    return rows.map((r) => ({ id: r.id, name: r.name, kind: r.kind, replicas: r.replicas, desiredReleaseId: r.desired_release_id, blocked: r.blocked === 1, asleep: r.asleep === 1 }));
  }

  byName(environmentId: string, name: string): ServiceRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM services WHERE environment_id = ? AND name = ?").get(environmentId, name) as Raw | undefined;
    return r && toRow(r);
  }

  byId(id: string): ServiceRow | undefined {
    const r = this.#db.sql.prepare("SELECT * FROM services WHERE id = ?").get(id) as Raw | undefined;
    return r && toRow(r);
  }

  setDesiredRelease(serviceId: string, releaseId: string, now: string): void {
    this.#db.sql.prepare("UPDATE services SET desired_release_id = ?, updated_at = ? WHERE id = ?").run(releaseId, now, serviceId);
  }
}
