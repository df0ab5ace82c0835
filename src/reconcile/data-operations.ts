/**
 * Managed-data work as recorded operations (issue 16 on issue 15's runner): backups, restores
 * (and the promotion they end with), drills, disaster recovery, discarding a server, upkeep, and
 * the reconciler's provisioning of an environment's datastores. All of an environment's data
 * operations share one key, `db:<project>/<env>` (one PostgreSQL server per environment holds
 * its databases), so none of them ever runs beside another, in the order they were recorded,
 * whoever recorded them; the provider's own lock stays underneath for any direct caller.
 *
 * Every step is idempotent, so a daemon killed half-way resumes the operation: a restore's new
 * server is named after the operation, so a resumed restore finds it promoted (and only repeats
 * the services' switch, which records the same value again) or discards the half-built one and
 * starts over. Nothing runs inside an HTTP request.
 */
import { z } from "zod";
import type { Blueprint } from "../blueprint/types.ts";
import { BerthError } from "../core/errors.ts";
import { defineOperation, type OperationHandler } from "../core/operations.ts";
import { parseRestoreTarget } from "../data/target.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { Store } from "../store/store.ts";
import { ownersReaching } from "./env-version.ts";
import type { ResourceManager } from "./resources.ts";

export const DATA_OPERATIONS = { ensure: "db-ensure", backup: "db-backup", restore: "db-restore", drill: "db-drill", recover: "db-recover", discard: "db-discard", upkeep: "db-upkeep" } as const;

const Where = z.strictObject({ project: z.string(), environment: z.string() });
const OnDb = Where.extend({ database: z.string() });

const scope = <P extends { project: string; environment: string }>(p: P) => ({ key: `db:${p.project}/${p.environment}`, project: p.project, environment: p.environment });

/** The id of the server a restore operation builds: the same on every attempt of that operation. */
export const restoreIdOf = (operation: string) => `rst-${operation.replace(/^op_/, "").toLowerCase()}`;

export interface DataOperationDeps {
  readonly store: Store;
  readonly resources: ResourceManager;
}

/** Services that reference the database (they roll onto a promoted restore). */
function servicesUsing(env: EnvironmentRow, database: string): string[] {
  const bp = env.blueprint as Blueprint;
  return bp.services.filter((s) => ownersReaching(bp, s.name).has(`group:resource-db-${database}`)).map((s) => s.name);
}

/** The handlers, registered on the runner in server.ts. */
export function dataOperations(d: DataOperationDeps): OperationHandler<never, unknown>[] {
  const env = (p: { project: string; environment: string }) => d.store.environments.require(p.project, p.environment);
  // After a daemon restart the first operation provisions (adopting the servers left running).
  const pg = async (p: { project: string; environment: string }, signal?: AbortSignal) => {
    const e = env(p);
    await d.resources.ready(e, signal);
    return (await d.resources.providers(e)).pg;
  };
  const strip = <T extends { path?: string }>({ path: _p, ...rest }: T) => rest;

  const handlers = [
    defineOperation({
      kind: DATA_OPERATIONS.ensure,
      params: Where,
      // Provisioning is idempotent and every reconcile asks again: an interrupted one is simply failed.
      resumable: false,
      routine: true,
      scope,
      run: async (ctx) => {
        ctx.progress("provision", "databases and key-value stores");
        await d.resources.ensureNow(env(ctx.params), ctx.signal);
        return { ok: true };
      },
    }),
    defineOperation({
      kind: DATA_OPERATIONS.backup,
      params: OnDb.extend({ kind: z.enum(["base", "dump"]).default("base") }),
      resumable: true,
      scope,
      run: async (ctx) => {
        ctx.progress(ctx.params.kind === "dump" ? "dump" : "base backup", ctx.params.database);
        const p = await pg(ctx.params, ctx.signal);
        return strip(await (ctx.params.kind === "dump" ? p.dump(ctx.params.database) : p.backup(ctx.params.database)));
      },
    }),
    defineOperation({
      kind: DATA_OPERATIONS.restore,
      params: OnDb.extend({ to: z.string(), keep: z.boolean().default(false), fromArchive: z.boolean().default(false) }),
      resumable: true,
      scope,
      run: async (ctx) => {
        const { database, to, keep, fromArchive } = ctx.params;
        const e = env(ctx.params);
        ctx.progress("restore", `${database} to ${to}`, { done: 0, total: keep ? 1 : 2 });
        const r = await (await pg(ctx.params)).restore(database, parseRestoreTarget(to), { mode: keep ? "keep" : "promote", fromArchive, id: restoreIdOf(ctx.id) });
        let rolling: string[] = [];
        if (!keep) {
          ctx.progress("switch", "services move onto the restored server", { done: 1, total: 2 });
          await d.resources.refresh(e, { kind: "db", name: database, actor: ctx.actor, server: r.restore });
          rolling = servicesUsing(e, database);
        }
        return { restore: r.restore, target: to, backup: r.backup, port: r.port, dataDir: r.dataDir, mode: r.mode, ms: r.ms, rolling };
      },
      // Interrupted too often to run again: its half-built server goes (a finished one stays).
      recover: async ({ id, params }) => {
        await (await pg(params)).abandonRestore(restoreIdOf(id));
      },
    }),
    defineOperation({
      kind: DATA_OPERATIONS.drill,
      params: OnDb,
      resumable: true,
      scope,
      run: async (ctx) => {
        ctx.progress("drill", ctx.params.database);
        return (await pg(ctx.params)).drill(ctx.params.database);
      },
    }),
    defineOperation({
      kind: DATA_OPERATIONS.recover,
      params: OnDb.extend({ from: z.string(), replace: z.boolean().default(false) }),
      resumable: true,
      scope,
      run: async (ctx) => {
        const { database, from, replace } = ctx.params;
        const e = env(ctx.params);
        ctx.progress("recover", `${database} from ${from}`, { done: 0, total: 2 });
        const r = await d.resources.recover(e, database, from, { replace, id: restoreIdOf(ctx.id) });
        ctx.progress("switch", "services move onto the recovered server", { done: 1, total: 2 });
        await d.resources.refresh(e, { kind: "db", name: database, actor: ctx.actor, server: r.restore.restore });
        const rolling = servicesUsing(e, database);
        const restore = { restore: r.restore.restore, target: "latest", backup: r.restore.backup, port: r.restore.port, dataDir: r.restore.dataDir, mode: r.restore.mode, ms: r.restore.ms, rolling };
        return { restore, drill: r.drill, imported: r.imported };
      },
      recover: async ({ id, params }) => {
        await (await pg(params)).abandonRestore(restoreIdOf(id));
      },
    }),
    defineOperation({
      kind: DATA_OPERATIONS.discard,
      params: OnDb.extend({ server: z.string() }),
      resumable: true,
      scope,
      run: async (ctx) => {
        const p = await pg(ctx.params);
        const known = (await p.list())[0]?.servers.find((s) => s.instance === ctx.params.server);
        if (!known) throw new BerthError("BERTH_NOT_FOUND", { kind: "server", name: ctx.params.server });
        ctx.progress("discard", ctx.params.server);
        await p.discardRestore(ctx.params.server);
        return { server: ctx.params.server };
      },
    }),
    defineOperation({
      kind: DATA_OPERATIONS.upkeep,
      params: Where,
      resumable: true,
      routine: true,
      scope,
      run: async (ctx) => {
        const e = env(ctx.params);
        const bp = e.blueprint as Blueprint;
        const p = await pg(ctx.params);
        const results: Record<string, unknown> = {};
        for (const db of bp.databases) {
          ctx.progress("upkeep", db.name);
          results[db.name] = await p.tick(db.name);
        }
        return results;
      },
    }),
  ];
  return handlers as unknown as OperationHandler<never, unknown>[];
}
