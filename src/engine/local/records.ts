/**
 * The local engine's memory across daemon restarts: one JSON file per instance and per service
 * under `<stateDir>/`, written atomically (temp file + rename), so a daemon killed at any point
 * leaves either the old or the new record, never half of one.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import type { Release, ServiceRef, ServiceSpec } from "../engine.ts";
import type { RestartHistory } from "../rollout/restart-policy.ts";

/** What the engine knows about one instance slot; `pid` is absent while it is being spawned. */
export interface InstanceRecord {
  readonly id: string;
  readonly ref: ServiceRef;
  readonly releaseId: string;
  readonly port?: number;
  readonly pid?: number;
  /** /proc/<pid>/stat starttime of `pid`: guards against pid reuse after a daemon restart. */
  readonly startTicks?: number;
  readonly startedAt: string;
  readonly restarts: number;
  readonly history: RestartHistory;
  /** Supervised once it passed its gate; unsupervised ones are stopped on adoption. */
  readonly supervised: boolean;
  readonly lastExit?: { readonly code: number | null; readonly signal: string | null; readonly oom: boolean; readonly at: string };
  /** Set when it exited and will not be restarted. */
  readonly exited?: boolean;
}

/** The release a service is settled on, and the spec it runs with. */
export interface ServiceRecord {
  readonly spec: ServiceSpec;
  readonly release: Release;
  /** Releases whose instances may still exist (during a rollout): needed to restart them. */
  readonly releases: readonly Release[];
}

const refSchema = z.object({ project: z.string(), environment: z.string(), service: z.string() });
const exitSchema = z.object({ code: z.number().nullable(), signal: z.string().nullable(), oom: z.boolean(), at: z.string() });

/** Records are our own files, but a daemon must survive a damaged one: parse, never cast. */
const instanceSchema = z.object({
  id: z.string(),
  ref: refSchema,
  releaseId: z.string(),
  port: z.number().int().optional(),
  pid: z.number().int().positive().optional(),
  startTicks: z.number().int().optional(),
  startedAt: z.string(),
  restarts: z.number().int(),
  history: z.object({ attempt: z.number().int(), failureTimesMs: z.array(z.number()) }),
  supervised: z.boolean(),
  lastExit: exitSchema.optional(),
  exited: z.boolean().optional(),
});

// Spec and release are written by this engine from typed values; the check guards the fields
// adoption relies on and keeps the rest as written.
const releaseSchema = z.looseObject({ id: z.string(), number: z.number(), service: refSchema, artifact: z.looseObject({ kind: z.string() }) });
const serviceSchema = z.object({
  spec: z.looseObject({ ref: refSchema, start: z.string(), restart: z.looseObject({ policy: z.string() }), health: z.looseObject({}) }),
  release: releaseSchema,
  releases: z.array(releaseSchema),
});

function safeName(text: string): string {
  return text.replace(/[^a-zA-Z0-9_.-]/g, "_");
}

export class RecordStore {
  readonly #dir: string;

  constructor(stateDir: string) {
    this.#dir = stateDir;
    for (const sub of ["instances", "services"]) mkdirSync(join(stateDir, sub), { recursive: true, mode: 0o700 });
  }

  #write(path: string, value: unknown): void {
    const tmp = `${path}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
      renameSync(tmp, path);
    } catch (e) {
      throw new BerthError("BERTH_ENGINE_STATE_FAILED", { path, detail: (e as Error).message }, { cause: e });
    }
  }

  #readAll<T>(sub: string, schema: { safeParse(v: unknown): { success: boolean; data?: unknown } }): T[] {
    const dir = join(this.#dir, sub);
    const out: T[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".json")) continue;
      try {
        const parsed = schema.safeParse(JSON.parse(readFileSync(join(dir, f), "utf8")));
        // A record that does not parse is dropped; start() still finds its process through /proc.
        if (parsed.success) out.push(parsed.data as T);
      } catch {
        // unreadable or not JSON: same as above
      }
    }
    return out;
  }

  saveInstance(rec: InstanceRecord): void {
    this.#write(join(this.#dir, "instances", `${safeName(rec.id)}.json`), rec);
  }

  deleteInstance(id: string): void {
    rmSync(join(this.#dir, "instances", `${safeName(id)}.json`), { force: true });
  }

  instances(): InstanceRecord[] {
    return this.#readAll<InstanceRecord>("instances", instanceSchema);
  }

  saveService(key: string, rec: ServiceRecord): void {
    this.#write(join(this.#dir, "services", `${safeName(key)}.json`), rec);
  }

  deleteService(key: string): void {
    rmSync(join(this.#dir, "services", `${safeName(key)}.json`), { force: true });
  }

  services(): ServiceRecord[] {
    return this.#readAll<ServiceRecord>("services", serviceSchema);
  }
}
