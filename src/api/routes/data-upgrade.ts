import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import type { ApiDeps } from "../types.ts";
import { Operation, operationOut } from "./operations.ts";

/**
 * `berth db upgrade` (issue 14): records a db-upgrade operation (src/reconcile/db-upgrade.ts);
 * follow it at GET /v1/operations/:id. A blueprint edit never changes a major: this is the way.
 */
export const dataUpgradeRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.post(
    "/v1/projects/:project/environments/:environment/databases/:name/upgrades",
    {
      config: { role: "owner" },
      schema: {
        tags: ["data"],
        description: "Records a db-upgrade operation: the database's server moves to a newer PostgreSQL major by a copy into a new server (the old one is kept, read-only, and retires once the services moved onto the new one).",
        params: z.object({ project: z.string(), environment: z.string(), name: z.string() }),
        body: z.strictObject({ to: z.number().int().describe("the PostgreSQL major to move to") }),
        response: { 202: Operation },
      },
    },
    async (request, reply) => {
      if (!deps.operations) throw new BerthError("BERTH_INTERNAL", { detail: "operations are not configured in this daemon" });
      const { project, environment, name } = request.params;
      deps.store.environments.require(project, environment);
      const op = deps.operations.enqueue("db-upgrade", { project, environment, name, to: request.body.to }, { actor: request.principal!.name, dedupe: "unfinished" });
      reply.status(202);
      return operationOut(op);
    },
  );
};
