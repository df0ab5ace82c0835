/**
 * The local engine's memory across daemon restarts: one JSON file per instance and per service
 * under `<stateDir>/`, written atomically (temp file + rename), so a daemon killed at any point
 * leaves either the old or the new record, never half of one.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

  #readAll<T>(sub: string): T[] {
    const dir = join(this.#dir, sub);
    const out: T[] = [];
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".json")) continue;
      try {
        out.push(JSON.parse(readFileSync(join(dir, f), "utf8")) as T);
      } catch {
        // A record that cannot be parsed is dropped; /proc scanning still finds its process.
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
    return this.#readAll<InstanceRecord>("instances");
  }

  saveService(key: string, rec: ServiceRecord): void {
    this.#write(join(this.#dir, "services", `${safeName(key)}.json`), rec);
  }

  deleteService(key: string): void {
    rmSync(join(this.#dir, "services", `${safeName(key)}.json`), { force: true });
  }

  services(): ServiceRecord[] {
    return this.#readAll<ServiceRecord>("services");
  }
}
