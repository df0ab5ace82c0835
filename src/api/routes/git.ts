/**
 * Git auto-deploy routes (issue 5): point a project at a repository (a served one by default),
 * deploy a branch on request, rotate the webhook secret, and the GitHub-compatible push webhook.
 *
 * The webhook is a public route (GitHub sends no token), so it authenticates the delivery
 * itself: HMAC-SHA256 of the raw body under the project's webhook secret (`X-Hub-Signature-256`),
 * compared in constant time, then the delivery id (`X-GitHub-Delivery`) and the body's digest are
 * recorded once — a replay (same id, or the same signed body under a new id) is refused. Every refusal is a 401, an event, and (as for every POST) an audit entry.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { validateBranch, validateCommit } from "../../build/git-source.ts";
import { BerthError } from "../../core/errors.ts";
import { readPullRequest } from "../../deploy/previews.ts";
import type { SecretOwner } from "../../secrets/ports.ts";
import { generateSecretValue } from "../../secrets/store.ts";
import { mayChooseHostPaths } from "../auth.ts";
import type { ApiDeps } from "../types.ts";
import { Operation, operationOut } from "./operations.ts";

const describeSource = (s: { kind: string; path?: string; url?: string } | undefined): string => (!s ? "none yet" : s.kind === "dir" ? `${s.path}` : `${s.url}`);

/** Where a project's webhook secret lives in the secret store (never injected into a service). */
export const WEBHOOK_SECRET = { environment: "*", owner: "group:berth-webhook" as SecretOwner, name: "GITHUB_WEBHOOK_SECRET" } as const;

const Params = z.object({ project: z.string() });
const Remote = z.object({
  project: z.string(),
  url: z.string().describe("the repository the project follows; for a served one, the path to push to"),
  branch: z.string().describe("the default branch (environments without `branch` follow it)"),
  served: z.boolean(),
  webhook: z.string().describe("path of the push webhook on this daemon"),
});
const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
const DELIVERY = /^[A-Za-z0-9-]{1,100}$/;

/** True when `header` is `sha256=<hex HMAC-SHA256 of body under secret>` (constant-time compare). */
export function validSignature(secret: string, body: Buffer, header: unknown): boolean {
  const m = typeof header === "string" ? SIGNATURE.exec(header) : null;
  if (!m) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, "hex"));
}

/** The JSON of a push delivery: `application/json`, or the form encoding's `payload` field. */
function payloadOf(request: FastifyRequest, raw: Buffer): { ref?: unknown; after?: unknown; deleted?: unknown; [k: string]: unknown } {
  const type = String(request.headers["content-type"] ?? "");
  const text = type.startsWith("application/x-www-form-urlencoded") ? (new URLSearchParams(raw.toString("utf8")).get("payload") ?? "") : raw.toString("utf8");
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    throw new BerthError("BERTH_BAD_REQUEST", { detail: "the delivery's body is not JSON" });
  }
}

export const gitRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const git = () => {
    if (!deps.git) throw new BerthError("BERTH_INTERNAL", { detail: "git auto-deploy is not configured" });
    return deps.git;
  };
  const describe = (project: string): z.infer<typeof Remote> => {
    const { url, defaultBranch } = git().deployer.gitSource(project);
    let served = false;
    try {
      served = git().served.pathOf(project) === url;
    } catch {
      served = false;
    }
    return { project, url, branch: defaultBranch, served, webhook: `/v1/hooks/github/${encodeURIComponent(project)}` };
  };

  app.post(
    "/v1/projects/:project/git",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["git"],
        description: "Makes the project follow a git repository: `url`, or (without it) a bare repository this daemon serves. Creates the project if new.",
        params: Params,
        body: z.strictObject({ url: z.string().optional(), branch: z.string().default("main") }),
        response: { 200: Remote },
      },
    },
    async (request) => {
      const { project } = request.params;
      const url = request.body.url;
      // A local repository is a path on the daemon's host, read as root: a host privilege (issue 17).
      if (url && (url.startsWith("/") || /^file:/i.test(url)) && url !== git().served.pathOf(project) && !mayChooseHostPaths(request)) {
        throw new BerthError("BERTH_SOURCE_DIR_FORBIDDEN", { token: request.principal!.name, project, path: url, recorded: describeSource(deps.store.projects.byName(project)?.source) });
      }
      if (url) git().deployer.follow(project, url, request.body.branch);
      else await git().served.ensure(project, request.body.branch);
      return describe(project);
    },
  );

  app.get("/v1/projects/:project/git", { config: { role: "viewer" }, schema: { tags: ["git"], params: Params, response: { 200: Remote } } }, async (request) =>
    describe(request.params.project),
  );

  app.post(
    "/v1/projects/:project/git/deploy",
    {
      config: { role: "deployer" },
      schema: {
        tags: ["git"],
        description: "Records a git-deploy operation: fetch a branch and sync the environments that follow it (at `commit`, default the branch head).",
        params: Params,
        body: z.strictObject({ branch: z.string().optional(), commit: z.string().optional() }),
        response: { 202: Operation },
      },
    },
    async (request, reply) => {
      const { project } = request.params;
      const branch = request.body.branch ?? git().deployer.gitSource(project).defaultBranch;
      // Recorded as a git-deploy operation (issue 15): follow it at GET /v1/operations/:id.
      const op = git().deployer.request({ project, branch, ...(request.body.commit ? { commit: request.body.commit } : {}), via: "api", actor: request.principal!.name });
      reply.status(202);
      return operationOut(op);
    },
  );

  app.post(
    "/v1/projects/:project/git/webhook-secret",
    {
      config: { role: "owner", revealsSecret: true },
      schema: {
        tags: ["git"],
        description: "Generates (or rotates) the project's webhook secret and returns it once: paste it into the repository's webhook settings.",
        params: Params,
        response: { 200: z.object({ secret: z.string(), webhook: z.string() }) },
      },
    },
    async (request) => {
      if (!deps.secrets) throw new BerthError("BERTH_INTERNAL", { detail: "the secret store is not configured" });
      const p = deps.store.projects.require(request.params.project);
      const secret = generateSecretValue("hex", 32);
      deps.secrets.store.set({ project: { id: p.id, name: p.name }, ...WEBHOOK_SECRET }, secret, request.principal!.name, "generated");
      return { secret, webhook: `/v1/hooks/github/${encodeURIComponent(p.name)}` };
    },
  );

  // The webhook needs the raw bytes GitHub signed: its own scope, with buffer body parsers.
  await app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser(["application/json", "application/x-www-form-urlencoded"], { parseAs: "buffer", bodyLimit: 5 * 1024 * 1024 }, (_req, body, done) => done(null, body));
    hooks.post(
      "/v1/hooks/github/:project",
      {
        config: { public: true },
        schema: {
          tags: ["git"],
          description: "GitHub-compatible push webhook. Authenticated by X-Hub-Signature-256 (HMAC-SHA256 of the body under the project's webhook secret); X-GitHub-Delivery is accepted once.",
          params: Params,
          response: {
            200: z.object({ event: z.string() }),
            202: z.object({
              accepted: z.boolean(),
              branch: z.string().nullable(),
              commit: z.string().nullable(),
              operation: z.string().nullable(),
              preview: z.string().nullable().optional().describe("pull_request (and a deleted branch): the preview environment (pr-<n>)"),
              decision: z.string().optional().describe("pull_request: deploy | await-approval | destroy | refuse | ignore; a deleted branch: destroy | ignore"),
              reason: z.string().nullable().optional(),
            }),
          },
        },
      },
      async (request, reply) => {
        const name = (request.params as z.infer<typeof Params>).project;
        const delivery = String(request.headers["x-github-delivery"] ?? "");
        const refuse = (reason: string): never => {
          deps.bus.emit({ type: "git:webhook:rejected", scope: deps.store.projects.byName(name) ? { project: name } : {}, actor: "webhook", data: { project: name, delivery: delivery.slice(0, 100), reason } });
          throw new BerthError("BERTH_WEBHOOK_REJECTED", { reason });
        };
        const raw = Buffer.isBuffer(request.body) ? request.body : refuse("no body");
        // Unknown project and missing secret answer like a bad signature: nothing to learn by probing.
        const p = deps.store.projects.byName(name) ?? refuse("bad signature");
        let secret: string;
        try {
          secret = deps.secrets?.store.get({ project: { id: p.id, name: p.name }, ...WEBHOOK_SECRET }) ?? refuse("bad signature");
        } catch {
          return refuse("bad signature");
        }
        if (!validSignature(secret, raw, request.headers["x-hub-signature-256"])) refuse("bad signature");
        if (!DELIVERY.test(delivery)) refuse("missing or malformed X-GitHub-Delivery");
        if (!git().deployer.recordDelivery(p.id, delivery, raw)) refuse(`delivery ${delivery} (or its body) was already received (replay)`);
        const event = String(request.headers["x-github-event"] ?? "");
        if (event === "pull_request") {
          // Issue 19: previews. Recorded (a row and an operation) before answering, as pushes are.
          if (!deps.previews) return { event };
          const pr = readPullRequest(payloadOf(request, raw));
          if (!pr.ok) throw new BerthError("BERTH_BAD_REQUEST", { detail: pr.reason });
          reply.status(202);
          const answer = deps.previews.onPullRequest(p.name, pr.event);
          return { accepted: answer.accepted, branch: pr.event.headRef, commit: pr.event.headSha, operation: answer.operation, preview: answer.preview, decision: answer.decision, reason: answer.reason };
        }
        if (event !== "push") return { event };
        const push = payloadOf(request, raw);
        const ref = typeof push.ref === "string" ? push.ref : "";
        const after = typeof push.after === "string" ? push.after : "";
        reply.status(202);
        if (ref.startsWith("refs/heads/") && (push.deleted === true || /^0+$/.test(after))) {
          // Issue 19: a deleted branch destroys the previews opened for it (recorded before answering).
          const branch = validateBranch(ref.slice("refs/heads/".length));
          const destroyed = git().deployer.branchDeleted(p.name, branch, "github");
          const first = destroyed[0];
          return {
            accepted: destroyed.length > 0,
            branch,
            commit: null,
            operation: first?.operation.id ?? null,
            preview: first?.environment ?? null,
            decision: destroyed.length > 0 ? "destroy" : "ignore",
            reason: destroyed.length > 0 ? `branch ${branch} was deleted: ${destroyed.map((d) => d.environment).join(", ")} destroyed` : `branch ${branch} was deleted; no preview follows it`,
          };
        }
        if (!ref.startsWith("refs/heads/")) return { accepted: false, branch: null, commit: null, operation: null };
        const branch = validateBranch(ref.slice("refs/heads/".length));
        validateCommit(after);
        // Recorded before answering (GitHub gives a delivery 10 s, and does not redeliver a
        // refused replay): the operation survives a daemon crash. Failures become git:sync:failed.
        const op = git().deployer.request({ project: p.name, branch, commit: after, via: "webhook", actor: "github" });
        return { accepted: true, branch, commit: after, operation: op.id };
      },
    );
  });
};
