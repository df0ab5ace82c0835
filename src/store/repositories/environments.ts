import { BerthError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import type { Db } from "../db.ts";
import { fromJson, toJson } from "../db.ts";

export type EnvironmentStatus = "pending" | "reconciling" | "live" | "degraded" | "failed" | "stopping" | "stopped";

export interface EnvironmentRow {
  readonly id: string;
  readonly projectId: string;
  readonly project: string;
  readonly name: string;
  /** The environment's desired state as recorded by the last sync (JSON document). */
  readonly blueprint: unknown;
  readonly generation: number;
  readonly reconciledGeneration: number;
  readonly status: EnvironmentStatus;
  readonly statusDetail: string | null;
  /** When the environment was first synced: older environments keep contested routes (issue 17). */
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface Raw {
  id: string;
  project_id: string;
  project: string;
  name: string;
  generation: number;
  reconciled_generation: number;
  status: EnvironmentStatus;
  status_detail: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * Rows are read without their blueprint (its own table since migration 0012): a 5,000-service
 * environment's document is ~3 MB of JSON, and status reads, queue work and instance events must
 * not copy and parse it each time (issue 15). `blueprint` is a getter that loads it once per
 * generation (see `blueprintAt`).
 */
const SELECT =
  "SELECT e.id, e.project_id, p.name AS project, e.name, e.generation, e.reconciled_generation, e.status, e.status_detail, e.created_at, e.updated_at FROM environments e JOIN projects p ON p.id = e.project_id";

export class EnvironmentRepository {
  readonly #db: Db;
  /** The parsed blueprint of each environment at one generation (the newest one asked for). */
  readonly #documents = new Map<string, { readonly generation: number; readonly value: unknown; readonly large: boolean }>();
  /** `engineOf` by project and environment name; cleared by every record and removal. */
  readonly #engines = new Map<string, string>();
  /** Declared datastores per environment, by generation: extracting them walks the whole document. */
  readonly #datastores = new Map<string, { readonly generation: number; readonly value: { readonly databases: readonly unknown[]; readonly keyValues: readonly unknown[] } }>();
  constructor(db: Db) {
    this.#db = db;
  }

  #toRow(r: Raw): EnvironmentRow {
    const row = {
      id: r.id,
      projectId: r.project_id,
      project: r.project,
      name: r.name,
      generation: r.generation,
      reconciledGeneration: r.reconciled_generation,
      status: r.status,
      statusDetail: r.status_detail,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
    let doc: { value: unknown } | undefined;
    return Object.defineProperty(row, "blueprint", {
      enumerable: true,
      get: () => {
        doc ??= { value: this.blueprintAt(r.id, r.generation) ?? this.blueprintAt(r.id) };
        return doc.value;
      },
    }) as EnvironmentRow;
  }

  /**
   * The environment's blueprint as recorded at `generation` (default: the current one), parsed
   * once per generation; undefined when the environment is gone or has moved past `generation`
   * (a sync landed since: the caller's snapshot is stale).
   */
  blueprintAt(id: string, generation?: number): unknown {
    const cached = this.#documents.get(id);
    if (cached && (generation === undefined ? cached.generation === this.#generation(id) : cached.generation === generation)) return cached.value;
    const r = (
      generation === undefined
        ? this.#db.sql.prepare("SELECT blueprint, generation FROM environment_blueprints WHERE environment_id = ?").get(id)
        : this.#db.sql.prepare("SELECT blueprint, generation FROM environment_blueprints WHERE environment_id = ? AND generation = ?").get(id, generation)
    ) as { blueprint: string; generation: number } | undefined;
    if (!r) return undefined;
    const value = fromJson(r.blueprint);
    const large = r.blueprint.length > 256 * 1024;
    const entry = { generation: r.generation, value, large };
    this.#documents.set(id, entry);
    // A very large document is dropped soon after whoever read it is done, not only at the end
    // of a reconcile: status and alert lookups between reconciles kept 5,000 services' parsed
    // blueprint (~4 MB of heap) alive until the next one (issue 15).
    if (large) {
      setTimeout(() => {
        if (this.#documents.get(id) === entry) this.#documents.delete(id);
      }, 5_000).unref();
    }
    return value;
  }

  #generation(id: string): number | undefined {
    return (this.#db.sql.prepare("SELECT generation FROM environments WHERE id = ?").get(id) as { generation: number } | undefined)?.generation;
  }

  /**
   * Drops the parsed document of a very large blueprint (thousands of services: tens of MB of
   * objects) once the work that needed it is done; small ones stay cached for the hot paths.
   */
  forgetLarge(id: string): void {
    if (this.#documents.get(id)?.large) this.#documents.delete(id);
  }

  /**
   * The databases and key-value stores an environment's blueprint declares, extracted by SQLite
   * (json_extract) without parsing the whole document in JS: status calls and the data beat need
   * only these, and a 5,000-service blueprint is ~3 MB (issue 15). Kept per generation: even
   * json_extract parses the whole 3 MB text, ~20 ms of blocked event loop on every status call.
   */
  datastores(id: string): { readonly databases: readonly unknown[]; readonly keyValues: readonly unknown[] } {
    const cached = this.#datastores.get(id);
    if (cached && cached.generation === this.#generation(id)) return cached.value;
    const r = this.#db.sql
      .prepare("SELECT generation, json_extract(blueprint, '$.databases') AS databases, json_extract(blueprint, '$.keyValues') AS keyValues FROM environment_blueprints WHERE environment_id = ?")
      .get(id) as { generation: number; databases: string | null; keyValues: string | null } | undefined;
    const value = { databases: r?.databases ? (fromJson(r.databases) as unknown[]) : [], keyValues: r?.keyValues ? (fromJson(r.keyValues) as unknown[]) : [] };
    if (r) this.#datastores.set(id, { generation: r.generation, value });
    else this.#datastores.delete(id);
    return value;
  }

  /**
   * Whether the environment's recorded blueprint requires approval (issue 19), read by SQLite
   * (json_extract) so a sync does not parse a large document in JS just for this flag.
   */
  approvalRequired(id: string): boolean {
    const r = this.#db.sql.prepare("SELECT json_extract(blueprint, '$.environment.approvalRequired') AS required FROM environment_blueprints WHERE environment_id = ?").get(id) as
      | { required: number | null }
      | undefined;
    return r?.required === 1;
  }

  /**
   * The engine an environment's recorded blueprint names (issue 20; `local` when none or not
   * recorded), read by SQLite: every engine call of the daemon asks, so no document is parsed.
   */
  engineOf(project: string, name: string): string {
    // Cached until the next record or removal: json_extract still parses the whole document,
    // ~20 ms for 5,000 services, and the sampler asks once per instance (issue 15).
    const key = `${project}\0${name}`;
    const cached = this.#engines.get(key);
    if (cached !== undefined) return cached;
    const engine = this.#engineOf(project, name);
    this.#engines.set(key, engine);
    return engine;
  }

  #engineOf(project: string, name: string): string {
    const r = this.#db.sql
      .prepare("SELECT json_extract(b.blueprint, '$.engine') AS engine FROM environments e JOIN projects p ON p.id = e.project_id JOIN environment_blueprints b ON b.environment_id = e.id WHERE p.name = ? AND e.name = ?")
      .get(project, name) as { engine: string | null } | undefined;
    return r?.engine ?? "local";
  }

  /** Environments whose recorded blueprint names `engine` (issue 20: the daemon starts that engine at boot). */
  countByEngine(engine: string): number {
    return (this.#db.sql.prepare("SELECT count(*) AS n FROM environment_blueprints WHERE json_extract(blueprint, '$.engine') = ?").get(engine) as { n: number }).n;
  }

  /** The id of `project`/`name`, without reading anything else (instance events, hot paths). */
  idByName(project: string, name: string): string | undefined {
    return (this.#db.sql.prepare("SELECT e.id FROM environments e JOIN projects p ON p.id = e.project_id WHERE p.name = ? AND e.name = ?").get(project, name) as { id: string } | undefined)?.id;
  }

  /** Records a new desired state: bumps the generation when the document changed. */
  record(projectId: string, name: string, blueprint: unknown, now: string): EnvironmentRow {
    this.#engines.clear();
    return this.#db.tx(() => {
      const existing = this.#db.sql
        .prepare("SELECT e.id, b.blueprint FROM environments e LEFT JOIN environment_blueprints b ON b.environment_id = e.id WHERE e.project_id = ? AND e.name = ?")
        .get(projectId, name) as { id: string; blueprint: string | null } | undefined;
      const doc = toJson(blueprint);
      if (!existing) {
        const id = newId("env");
        this.#db.sql.prepare("INSERT INTO environments (id, project_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").run(id, projectId, name, now, now);
        this.#db.sql.prepare("INSERT INTO environment_blueprints (environment_id, generation, blueprint) VALUES (?, 1, ?)").run(id, doc);
        return this.requireId(id);
      }
      if (existing.blueprint !== doc) {
        this.#db.sql.prepare("UPDATE environments SET generation = generation + 1, updated_at = ? WHERE id = ?").run(now, existing.id);
        this.#db.sql
          .prepare(
            "INSERT INTO environment_blueprints (environment_id, generation, blueprint) SELECT id, generation, ? FROM environments WHERE id = ? ON CONFLICT (environment_id) DO UPDATE SET generation = excluded.generation, blueprint = excluded.blueprint",
          )
          .run(doc, existing.id);
      }
      return this.requireId(existing.id);
    });
  }

  byId(id: string): EnvironmentRow | undefined {
    const r = this.#db.sql.prepare(`${SELECT} WHERE e.id = ?`).get(id) as Raw | undefined;
    return r && this.#toRow(r);
  }

  requireId(id: string): EnvironmentRow {
    const e = this.byId(id);
    if (!e) throw new BerthError("BERTH_NOT_FOUND", { kind: "environment", name: id });
    return e;
  }

  byName(project: string, name: string): EnvironmentRow | undefined {
    const r = this.#db.sql.prepare(`${SELECT} WHERE p.name = ? AND e.name = ?`).get(project, name) as Raw | undefined;
    return r && this.#toRow(r);
  }

  require(project: string, name: string): EnvironmentRow {
    const e = this.byName(project, name);
    if (!e) throw new BerthError("BERTH_NOT_FOUND", { kind: "environment", name: `${project}/${name}` });
    return e;
  }

  list(): EnvironmentRow[] {
    return (this.#db.sql.prepare(`${SELECT} ORDER BY p.name, e.name`).all() as unknown as Raw[]).map((r) => this.#toRow(r));
  }

  setStatus(id: string, status: EnvironmentStatus, detail: string | null, now: string, reconciledGeneration?: number): void {
    if (reconciledGeneration === undefined) {
      this.#db.sql.prepare("UPDATE environments SET status = ?, status_detail = ?, updated_at = ? WHERE id = ?").run(status, detail, now, id);
    } else {
      this.#db.sql
        .prepare("UPDATE environments SET status = ?, status_detail = ?, updated_at = ?, reconciled_generation = ? WHERE id = ?")
        .run(status, detail, now, reconciledGeneration, id);
    }
  }

  remove(id: string): void {
    this.#documents.delete(id);
    this.#engines.clear();
    this.#db.sql.prepare("DELETE FROM environments WHERE id = ?").run(id);
  }
}
