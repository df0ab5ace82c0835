import { newId } from "../../core/ids.ts";
import type { ServiceSpec } from "../../engine/engine.ts";
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
}

/** What a sync records for one service. */
export interface DesiredServiceInput {
  readonly spec: ServiceSpec;
  readonly inputs: unknown;
  readonly inputsDigest: string;
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
});

export class ServiceRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Makes the environment's services exactly `specs`: upserts each, deletes the rest. */
  replaceAll(environmentId: string, services: readonly DesiredServiceInput[], now: string): ServiceRow[] {
    return this.#db.tx(() => {
      const keep = new Set(services.map((s) => s.spec.ref.service));
      for (const existing of this.list(environmentId)) {
        if (!keep.has(existing.name)) this.#db.sql.prepare("DELETE FROM services WHERE id = ?").run(existing.id);
      }
      for (const { spec, inputs, inputsDigest } of services) {
        const row = this.byName(environmentId, spec.ref.service);
        if (row) {
          this.#db.sql
            .prepare("UPDATE services SET kind = ?, spec = ?, inputs = ?, inputs_digest = ?, updated_at = ? WHERE id = ?")
            .run(spec.kind, toJson(spec), toJson(inputs), inputsDigest, now, row.id);
        } else {
          this.#db.sql
            .prepare(
              "INSERT INTO services (id, environment_id, name, kind, spec, inputs, inputs_digest, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .run(newId("svc"), environmentId, spec.ref.service, spec.kind, toJson(spec), toJson(inputs), inputsDigest, now, now);
        }
      }
      return this.list(environmentId);
    });
  }

  /** Marks the inputs whose release or rollout failed, so they are not retried until they change. */
  markFailed(serviceId: string, digest: string | null, now: string): void {
    this.#db.sql.prepare("UPDATE services SET failed_digest = ?, updated_at = ? WHERE id = ?").run(digest, now, serviceId);
  }

  /** Points the service at an older release and its inputs (rollback). */
  pinRelease(serviceId: string, releaseId: string, inputs: unknown, inputsDigest: string, now: string): void {
    this.#db.sql
      .prepare("UPDATE services SET desired_release_id = ?, inputs = ?, inputs_digest = ?, failed_digest = NULL, updated_at = ? WHERE id = ?")
      .run(releaseId, toJson(inputs), inputsDigest, now, serviceId);
  }

  /** Autoscaling (issue 18): changes only the desired instance count; the inputs digest stays, so no new release. */
  setReplicas(serviceId: string, replicas: number, now: string): void {
    this.#db.sql.prepare("UPDATE services SET spec = json_set(spec, '$.replicas', ?), updated_at = ? WHERE id = ?").run(replicas, now, serviceId);
  }

  list(environmentId: string): ServiceRow[] {
    return (this.#db.sql.prepare("SELECT * FROM services WHERE environment_id = ? ORDER BY name").all(environmentId) as unknown as Raw[]).map(toRow);
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
