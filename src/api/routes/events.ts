import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { BerthEvent } from "../../core/events.ts";
import type { FastifyRequest } from "fastify";
import { visibleProjects } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

const Event = z.object({
  seq: z.number(),
  at: z.string(),
  type: z.string(),
  scope: z.object({ project: z.string().optional(), environment: z.string().optional(), service: z.string().optional() }),
  actor: z.string(),
  data: z.unknown(),
});
const Query = z.object({
  after: z.coerce.number().int().min(0).default(0),
  project: z.string().optional(),
  environment: z.string().optional(),
  type: z.string().optional().describe("comma-separated event types"),
  limit: z.coerce.number().int().min(1).max(5000).default(200),
});

/**
 * Event types only owners see even without a project scope: who tried which token from where,
 * which tokens exist. Everything global is hidden from project-scoped tokens altogether.
 */
export const OWNER_ONLY_EVENT_PREFIXES = ["auth:", "token:"] as const;

/** What a token may see of the event log (issue 17): its projects only, or all but owner-only types. */
export function eventVisibility(request: FastifyRequest): { projects?: readonly string[]; hideTypePrefixes?: readonly string[] } {
  const projects = visibleProjects(request);
  if (projects) return { projects };
  return request.principal?.role === "owner" ? {} : { hideTypePrefixes: OWNER_ONLY_EVENT_PREFIXES };
}

/** The same rule for one live event. */
export function eventVisible(e: BerthEvent, v: ReturnType<typeof eventVisibility>): boolean {
  if (v.projects && (!e.scope.project || !v.projects.includes(e.scope.project))) return false;
  return !(v.hideTypePrefixes ?? []).some((p) => e.type.startsWith(p));
}

/** The event log, and a live stream of it (server-sent events, resumable by sequence number). */
export const eventRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const query = (request: { query: z.infer<typeof Query> }, visibility: ReturnType<typeof eventVisibility>) => ({
    afterSeq: request.query.after,
    ...(request.query.project ? { project: request.query.project } : {}),
    ...(request.query.environment ? { environment: request.query.environment } : {}),
    ...(request.query.type ? { types: request.query.type.split(",") } : {}),
    limit: request.query.limit,
    ...visibility,
  });

  app.get("/v1/events", { config: { role: "viewer" }, schema: { tags: ["events"], querystring: Query, response: { 200: z.array(Event) } } }, async (request) =>
    deps.store.events.list(query(request, eventVisibility(request))),
  );

  app.get(
    "/v1/events/stream",
    { config: { role: "viewer" }, schema: { tags: ["events"], description: "Server-sent events: past events after `after` (or the `Last-Event-ID` header of a reconnect), then live ones.", querystring: Query } },
    async (request, reply) => {
      const visibility = eventVisibility(request);
      // A reconnecting EventSource (the dashboard) resumes after the last event it saw.
      const resumeAfter = Number(request.headers["last-event-id"]);
      const q = { ...query(request, visibility), ...(Number.isInteger(resumeAfter) && resumeAfter > request.query.after ? { afterSeq: resumeAfter } : {}) };
      const matches = (e: BerthEvent) =>
        (!q.project || e.scope.project === q.project) &&
        (!q.environment || e.scope.environment === q.environment) &&
        (!q.types || q.types.includes(e.type)) &&
        eventVisible(e, visibility);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive", "x-request-id": request.id });
      // Headers now: a client must not wait for the first event to learn the stream is open.
      res.flushHeaders();
      let last = q.afterSeq;
      const send = (e: BerthEvent) => {
        if (e.seq <= last) return;
        last = e.seq;
        res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      // Subscribe first, then replay: nothing falls in the gap between the two.
      const buffered: BerthEvent[] = [];
      let replaying = true;
      const off = deps.bus.subscribe((e) => {
        if (!matches(e)) return;
        if (replaying) buffered.push(e);
        else send(e);
      });
      for (const e of deps.store.events.list({ ...q, limit: 5000 })) send(e);
      replaying = false;
      for (const e of buffered) send(e);
      const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
      // The response closes when the client goes; the request "closes" as soon as its (empty) body is read.
      reply.raw.on("close", () => {
        clearInterval(ping);
        off();
      });
    },
  );
};
