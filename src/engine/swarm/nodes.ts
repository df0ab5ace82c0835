/**
 * The swarm's nodes through the manager's Engine API (issue 20): list, join a machine through its
 * own Docker socket, drain/activate, remove. The mapping from Docker's `Node` is pure (unit-tested).
 */
import { BerthError } from "../../core/errors.ts";
import type { ClusterNode, NodeAddRequest, NodeAdmin, NodeJoin } from "../nodes.ts";
import { DockerApi } from "./docker-api.ts";

/** The fields of Docker's `Node` read here. */
export interface DockerNode {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly Spec: { readonly Role?: string; readonly Availability?: string; readonly Labels?: Record<string, string>; readonly Name?: string };
  readonly Description?: { readonly Hostname?: string; readonly Engine?: { readonly EngineVersion?: string } };
  readonly Status?: { readonly State?: string; readonly Addr?: string };
  readonly ManagerStatus?: { readonly Leader?: boolean; readonly Reachability?: string; readonly Addr?: string };
}

/** Pure: Docker's node as Berth shows it. */
export function nodeView(n: DockerNode): ClusterNode {
  const availability = n.Spec.Availability === "drain" || n.Spec.Availability === "pause" ? n.Spec.Availability : "active";
  const managerStatus = n.ManagerStatus ? (n.ManagerStatus.Leader ? "leader" : (n.ManagerStatus.Reachability ?? "unknown")) : undefined;
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? n.ID.slice(0, 12),
    role: n.Spec.Role === "manager" ? "manager" : "worker",
    state: n.Status?.State ?? "unknown",
    availability,
    address: n.Status?.Addr ?? "",
    ...(managerStatus ? { managerStatus } : {}),
    ...(n.Description?.Engine?.EngineVersion ? { engineVersion: n.Description.Engine.EngineVersion } : {}),
  };
}

/** Pure: the node a user named (full id, id prefix or hostname); unknown or ambiguous names throw. */
export function findNode(nodes: readonly DockerNode[], ref: string): DockerNode {
  const exact = nodes.filter((n) => n.ID === ref || n.Description?.Hostname === ref);
  const found = exact.length > 0 ? exact : ref.length >= 4 ? nodes.filter((n) => n.ID.startsWith(ref)) : [];
  if (found.length === 1) return found[0]!;
  const known = nodes.map((n) => `${n.Description?.Hostname ?? "?"} (${n.ID.slice(0, 12)})`).join(", ") || "none";
  throw new BerthError("BERTH_NODE_UNKNOWN", { node: ref, detail: found.length > 1 ? `it names ${found.length} nodes; use the node id` : "no node has this id or hostname", known });
}

const socketOf = (dockerHost: string): string => (dockerHost.startsWith("unix://") ? dockerHost.slice("unix://".length) : dockerHost);

export class SwarmNodes implements NodeAdmin {
  readonly #d: DockerApi;
  readonly #joinTimeoutMs: number;

  constructor(options: { readonly docker: DockerApi; readonly joinTimeoutMs?: number }) {
    this.#d = options.docker;
    this.#joinTimeoutMs = options.joinTimeoutMs ?? 60_000;
  }

  async #nodes(): Promise<DockerNode[]> {
    return this.#d.json<DockerNode[]>({ path: "/nodes" });
  }

  async list(): Promise<readonly ClusterNode[]> {
    const order = { manager: 0, worker: 1 };
    return (await this.#nodes()).map(nodeView).sort((a, b) => order[a.role] - order[b.role] || (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  }

  async add(request: NodeAddRequest): Promise<NodeJoin> {
    const swarm = await this.#d.json<{ JoinTokens: { Worker: string; Manager: string } }>({ path: "/swarm" });
    const info = await this.#d.json<{ Swarm?: { RemoteManagers?: { Addr: string }[] | null } }>({ path: "/info" });
    const managers = (info.Swarm?.RemoteManagers ?? []).map((m) => m.Addr);
    const token = request.role === "manager" ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker;
    if (!request.dockerHost) return { kind: "instructions", role: request.role, token, managers };
    const other = new DockerApi(socketOf(request.dockerHost));
    const listen = request.advertiseAddr ? `${request.advertiseAddr}:2377` : "0.0.0.0:2377";
    await other.json({ method: "POST", path: "/swarm/join", body: { ListenAddr: listen, ...(request.advertiseAddr ? { AdvertiseAddr: request.advertiseAddr } : {}), RemoteAddrs: managers, JoinToken: token } });
    const joined = await other.json<{ Swarm?: { NodeID?: string } }>({ path: "/info" });
    const id = joined.Swarm?.NodeID ?? "";
    const until = Date.now() + this.#joinTimeoutMs;
    for (;;) {
      const node = (await this.#nodes()).find((n) => n.ID === id);
      if (node?.Status?.State === "ready") return { kind: "joined", node: nodeView(node) };
      if (Date.now() > until) throw new BerthError("BERTH_SWARM_API_FAILED", { method: "GET", path: "/nodes", status: 200, detail: `node ${id || "?"} joined but was not ready within ${this.#joinTimeoutMs / 1000} s (state ${node?.Status?.State ?? "absent"})` });
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async setAvailability(ref: string, availability: ClusterNode["availability"]): Promise<ClusterNode> {
    const node = findNode(await this.#nodes(), ref);
    await this.#d.json({ method: "POST", path: `/nodes/${node.ID}/update`, query: { version: node.Version.Index }, body: { ...node.Spec, Availability: availability } });
    return nodeView((await this.#d.json<DockerNode>({ path: `/nodes/${node.ID}` })));
  }

  async remove(ref: string, options: { readonly force: boolean }): Promise<void> {
    const node = findNode(await this.#nodes(), ref);
    const state = node.Status?.State ?? "unknown";
    if (!options.force && state !== "down") throw new BerthError("BERTH_NODE_NOT_DOWN", { node: node.Description?.Hostname ?? node.ID, state });
    await this.#d.json({ method: "DELETE", path: `/nodes/${node.ID}`, query: { force: options.force } });
  }
}
