import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { parseDurationMs } from "../../core/units.ts";
import type { ApiDeps } from "../types.ts";

/** Instance logs as newline-delimited JSON; `follow=true` keeps the response open. */
export const logRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    "/v1/projects/:project/environments/:environment/services/:service/logs",
    {
      config: { role: "viewer" },
      schema: {
        tags: ["logs"],
        params: z.object({ project: z.string(), environment: z.string(), service: z.string() }),
        querystring: z.object({
          since: z.string().regex(/^\d+(ms|s|m|h|d)$/, "a duration such as 10m or 2h").optional(),
          grep: z.string().max(200).optional(),
          instance: z.string().optional(),
          follow: z.enum(["true", "false"]).default("false"),
        }),
      },
    },
    async (request, reply) => {
      const { project, environment, service } = request.params;
      deps.store.environments.require(project, environment);
      const abort = new AbortController();
      // The response closes when the client goes; the request "closes" as soon as its (empty) body is read.
      reply.raw.on("close", () => abort.abort());
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "application/x-ndjson", "x-request-id": request.id });
      reply.raw.flushHeaders();
      const sinceMs = request.query.since ? parseDurationMs(request.query.since) : undefined;
      try {
        for await (const line of deps.engine.logs({
          service: { project, environment, service },
          ...(request.query.instance ? { instance: request.query.instance } : {}),
          ...(sinceMs !== undefined ? { sinceMs: deps.clock.now() - sinceMs } : {}),
          ...(request.query.grep ? { grep: request.query.grep } : {}),
          follow: request.query.follow === "true",
          signal: abort.signal,
        })) {
          if (abort.signal.aborted) break;
          // Hijacked: the API's onSend redaction does not see this stream (issue 9).
          const text = JSON.stringify(withFields(line));
          reply.raw.write(`${deps.redact ? deps.redact(text) : text}\n`);
        }
      } catch (e) {
        if (!abort.signal.aborted) reply.raw.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
      }
      reply.raw.end();
    },
  );
};

/** A structured (JSON object) line keeps its text and gains its parsed `fields` (issue 18). */
export function withFields<T extends { line: string }>(l: T): T & { fields?: Record<string, unknown> } {
  if (!l.line.startsWith("{")) return l;
  try {
    const v = JSON.parse(l.line) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? { ...l, fields: v as Record<string, unknown> } : l;
  } catch {
    return l;
  }
}
