/**
 * The cluster's machines (issue 20): `berth node list|add|drain|activate|remove`. Present when
 * the daemon manages a Docker Swarm (BERTH_DOCKER_HOST); otherwise every route says how to
 * configure one. Changing nodes is for an owner without a project scope: it moves every
 * project's instances.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { BerthError } from "../../core/errors.ts";
import type { NodeAdmin } from "../../engine/nodes.ts";
import { requireUnscopedOwner } from "../auth.ts";
import type { ApiDeps } from "../types.ts";

const Node = z.object({
  id: z.string(),
  hostname: z.string(),
  role: z.enum(["manager", "worker"]),
  state: z.string(),
  availability: z.enum(["active", "pause", "drain"]),
  address: z.string(),
  managerStatus: z.string().optional(),
  engineVersion: z.string().optional(),
});
const Params = z.object({ node: z.string().min(1) });
const AddBody = z.strictObject({
  role: z.enum(["manager", "worker"]).default("worker"),
  dockerHost: z.string().regex(/^(unix:\/\/)?\//, "a unix socket: unix:///path").optional().describe("the new machine's Docker socket, reachable from the daemon; absent: join instructions"),
  advertiseAddr: z.string().optional().describe("address the other nodes reach the new one on"),
});
const AddOut = z.union([
  z.object({ kind: z.literal("joined"), node: Node }),
  z.object({ kind: z.literal("instructions"), role: z.enum(["manager", "worker"]), token: z.string(), managers: z.array(z.string()) }),
]);

export const nodeRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const nodes = (): NodeAdmin => {
    if (!deps.nodes) throw new BerthError("BERTH_NODES_UNAVAILABLE", { detail: "no Docker host is configured (BERTH_DOCKER_HOST is unset)" });
    return deps.nodes;
  };

  app.get("/v1/nodes", { config: { role: "viewer" }, schema: { tags: ["nodes"], description: "The swarm's nodes: role, state, availability, address.", response: { 200: z.object({ nodes: z.array(Node) }) } } }, async () => ({
    nodes: [...(await nodes().list())],
  }));

  app.post("/v1/nodes", { config: { role: "owner" }, schema: { tags: ["nodes"], description: "Joins a machine through its Docker socket, or returns the token and managers to join it with.", body: AddBody, response: { 200: AddOut } } }, async (request) => {
    requireUnscopedOwner(request, "add a node");
    const b = request.body;
    const r = await nodes().add({ role: b.role, ...(b.dockerHost ? { dockerHost: b.dockerHost } : {}), ...(b.advertiseAddr ? { advertiseAddr: b.advertiseAddr } : {}) });
    return r.kind === "joined" ? r : { ...r, managers: [...r.managers] };
  });

  for (const [verb, availability] of [["drain", "drain"], ["activate", "active"]] as const) {
    app.post(`/v1/nodes/:node/${verb}`, { config: { role: "owner" }, schema: { tags: ["nodes"], description: verb === "drain" ? "Moves the node's tasks to the other nodes; it takes no new ones." : "Lets the node take tasks again.", params: Params, response: { 200: Node } } }, async (request) => {
      requireUnscopedOwner(request, `${verb} a node`);
      return nodes().setAvailability(request.params.node, availability);
    });
  }

  app.delete("/v1/nodes/:node", { config: { role: "owner" }, schema: { tags: ["nodes"], description: "Removes a node that is down; `force` also one that runs.", params: Params, querystring: z.object({ force: z.enum(["true", "false"]).optional() }), response: { 200: z.object({ removed: z.string() }) } } }, async (request) => {
    requireUnscopedOwner(request, "remove a node");
    await nodes().remove(request.params.node, { force: request.query.force === "true" });
    return { removed: request.params.node };
  });
};
