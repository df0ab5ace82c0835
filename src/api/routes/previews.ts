/**
 * Preview environments per pull request (issue 19): list a project's previews (with the
 * variables that are empty in each and their URLs), create one from a branch (`mode: manual`,
 * or alongside automatic ones), approve a fork's pull request (owners: the approval gate's
 * rule), destroy one, and set the forge a project's commit statuses go to. Every POST and DELETE
 * is audited (audit-hook.ts). The `pull_request` webhook itself lives with the push webhook (git.ts).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import { FORGE_API_URL, FORGE_OWNER, FORGE_TOKEN } from "../../reconcile/forge.ts";
import type { PreviewRow } from "../../store/repositories/previews.ts";
import { requireProject } from "../auth.ts";
import type { ApiDeps } from "../types.ts";
import { Operation, operationOut } from "./operations.ts";

const Params = z.object({ project: z.string() });
const One = z.object({ project: z.string(), number: z.coerce.number().int().min(1) });
const Preview = z.object({
  project: z.string(),
  number: z.number(),
  environment: z.string(),
  source: z.string(),
  branch: z.string(),
  commit: z.string(),
  fork: z.string().nullable().describe("the fork a pull request comes from (it waits for approval)"),
  state: z.string(),
  detail: z.string().nullable(),
  data: z.string().describe("the data step: none | ready | failed"),
  urls: z.array(z.string()).describe("public URLs of its services (none until it has routed services)"),
  unsetSecrets: z.array(z.string()).describe("variables that are empty in the preview (secrets it does not receive)"),
  approvedBy: z.string().nullable(),
  lastPushAt: z.string(),
  createdAt: z.string(),
});

/** A preview as the API shows it; `urls` gives its services' public URLs. */
export const previewOut = (r: PreviewRow, urls: string[]): z.infer<typeof Preview> => ({
  project: r.project,
  number: r.number,
  environment: r.environment,
  source: r.source,
  branch: r.branch,
  commit: r.headSha,
  fork: r.headRepo && r.headRepo !== r.baseRepo ? r.headRepo : null,
  state: r.state,
  detail: r.detail,
  data: r.dataState,
  urls,
  unsetSecrets: [...r.unsetSecrets],
  approvedBy: r.approvedBy,
  lastPushAt: r.lastPushAt,
  createdAt: r.createdAt,
});

export { Preview };

/** The public URLs of a preview's services (none once destroyed). */
export function previewUrls(deps: Pick<ApiDeps, "store" | "urls">, r: PreviewRow): string[] {
  if (r.state === "destroyed") return [];
  const env = deps.store.environments.byName(r.project, r.environment);
  if (!env) return [];
  return deps.store.services.list(env.id).flatMap((s) => (deps.urls?.({ project: r.project, environment: r.environment, service: s.name }) ?? []).slice(0, 1));
}

export const previewRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const out = (r: PreviewRow) => previewOut(r, previewUrls(deps, r));
  const previews = () => {
    if (!deps.previews) throw new BerthError("BERTH_INTERNAL", { detail: "previews are not configured" });
    return deps.previews;
  };

  app.get("/v1/projects/:project/previews", { config: { role: "viewer" }, schema: { tags: ["previews"], params: Params, response: { 200: z.array(Preview) } } }, async (request) => {
    requireProject(request, request.params.project);
    return deps.store.previews.list({ project: request.params.project }).map(out);
  });

  app.post(
    "/v1/projects/:project/previews",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["previews"],
        description: "Creates (or redeploys) a preview of a branch's head: what `mode: manual` previews are opened with. Refused over previews.maxPreviews (BERTH_PREVIEW_LIMIT) or when previews are off (BERTH_PREVIEWS_OFF).",
        params: Params,
        body: z.strictObject({
          branch: z.string().min(1).max(255).describe("the branch whose head the preview runs (fetched from the project's repository)"),
          number: z.number().int().min(1).max(999_999_999).optional().describe("the pull request's number (default: the project's next)"),
        }),
        response: { 202: z.object({ preview: Preview, operation: Operation }) },
      },
    },
    async (request, reply) => {
      requireProject(request, request.params.project);
      deps.store.projects.require(request.params.project);
      const r = previews().create(request.params.project, request.body, request.principal!.name);
      reply.status(202);
      return { preview: out(r.preview), operation: operationOut(r.operation) };
    },
  );

  app.post(
    "/v1/projects/:project/previews/:number/approve",
    { config: { role: "owner" }, schema: { tags: ["previews"], description: "Approves the head commit of a fork's pull request: its preview is deployed (owners only).", params: One, response: { 202: z.object({ preview: Preview, operation: Operation }) } } },
    async (request, reply) => {
      requireProject(request, request.params.project);
      const p = request.principal!;
      const r = previews().approve(request.params.project, request.params.number, { name: p.name, role: p.role, projects: p.projects });
      reply.status(202);
      return { preview: out(r.preview), operation: operationOut(r.operation) };
    },
  );

  app.delete(
    "/v1/projects/:project/previews/:number",
    { config: { role: "deployer" }, schema: { tags: ["previews"], description: "Destroys a preview: processes, databases, backups, routes and checkouts.", params: One, response: { 202: Operation } } },
    async (request, reply) => {
      requireProject(request, request.params.project);
      const op = previews().destroy(request.params.project, request.params.number, `destroyed by ${request.principal!.name}`, request.principal!.name);
      reply.status(202);
      return operationOut(op);
    },
  );

  app.post(
    "/v1/projects/:project/previews/forge",
    {
      config: { role: "owner" },
      schema: {
        tags: ["previews"],
        description: "Sets where commit statuses of the project's pull requests are posted: a token allowed to write statuses, and the API URL (default https://api.github.com).",
        params: Params,
        body: z.strictObject({ token: z.string().min(1).max(500), apiUrl: z.url().optional() }),
        response: { 200: z.object({ apiUrl: z.string() }) },
      },
    },
    async (request) => {
      if (!deps.secrets) throw new BerthError("BERTH_INTERNAL", { detail: "the secret store is not configured" });
      const p = deps.store.projects.require(request.params.project);
      const ref = (name: string) => ({ project: { id: p.id, name: p.name }, environment: "*", owner: FORGE_OWNER, name });
      const apiUrl = request.body.apiUrl ?? "https://api.github.com";
      deps.secrets.store.set(ref(FORGE_TOKEN), request.body.token, request.principal!.name);
      deps.secrets.store.set(ref(FORGE_API_URL), apiUrl, request.principal!.name);
      return { apiUrl };
    },
  );
};
