/**
 * `berth db upgrade` as a recorded operation (issue 15's runner; issue 14's upgrade): the
 * request is a row, carried out under the database's key — one data operation at a time per
 * database — with its steps persisted as progress. Not resumable: an attempt interrupted by a
 * daemon kill is failed at the next start (the old server stays live; a half-made new server is
 * never promoted, and `berth db discard` removes its directory).
 */
import { z } from "zod";
import type { Blueprint } from "../blueprint/types.ts";
import { BerthError } from "../core/errors.ts";
import { defineOperation, type OperationHandler } from "../core/operations.ts";
import type { UpgradeResult } from "../data/postgres/upgrade.ts";
import type { Store } from "../store/store.ts";
import { ownersReaching } from "./env-version.ts";
import type { ResourceManager } from "./resources.ts";

export const DB_UPGRADE = "db-upgrade";

const Params = z.strictObject({ project: z.string(), environment: z.string(), name: z.string(), to: z.number().int() });
type Params = z.infer<typeof Params>;

export interface DbUpgradeOutcome extends UpgradeResult {
  /** Services that roll onto the new server. */
  readonly rolling: readonly string[];
}

export function dbUpgradeOperation(d: { readonly store: Store; readonly resources: Pick<ResourceManager, "providers" | "refresh"> }): OperationHandler<Params, DbUpgradeOutcome> {
  return defineOperation({
    kind: DB_UPGRADE,
    params: Params,
    resumable: false,
    scope: (p) => ({ key: `db:${p.project}/${p.environment}/${p.name}`, project: p.project, environment: p.environment }),
    run: async (ctx) => {
      const { project, environment, name, to } = ctx.params;
      const env = d.store.environments.require(project, environment);
      const bp = env.blueprint as Blueprint;
      if (!bp.databases.some((x) => x.name === name)) throw new BerthError("BERTH_NOT_FOUND", { kind: `database (declared in ${project}/${environment}: ${bp.databases.map((x) => x.name).join(", ") || "none"})`, name });
      const { pg } = await d.resources.providers(env);
      const r = await pg.upgrade(name, to, (step, detail) => ctx.progress(step, detail));
      ctx.progress("switch", "services roll onto the new server");
      await d.resources.refresh(env, { kind: "db", name, actor: ctx.actor, server: r.instance });
      const rolling = bp.services.filter((s) => ownersReaching(bp, s.name).has(`group:resource-db-${name}`)).map((s) => s.name);
      return { ...r, rolling };
    },
  });
}
