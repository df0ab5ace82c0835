/**
 * The machines of a multi-node engine (issue 20: `berth node add|list|drain|remove`). Only the
 * Swarm engine has nodes; the daemon hands the API a `NodeAdmin` when a Docker host is
 * configured, none otherwise (the routes then say how to configure one).
 */

/** One machine of the cluster, as `berth node list` shows it. */
export interface ClusterNode {
  readonly id: string;
  readonly hostname: string;
  readonly role: "manager" | "worker";
  /** Swarm's view of the node: `ready`, `down`, `disconnected`, `unknown`. */
  readonly state: string;
  /** `active` takes tasks; `drain` moves its tasks away and takes none; `pause` keeps what runs. */
  readonly availability: "active" | "pause" | "drain";
  readonly address: string;
  /** Managers: `leader`, `reachable` or `unreachable`. */
  readonly managerStatus?: string;
  readonly engineVersion?: string;
}

/** How a machine joins: Berth joins it through its Docker socket, or says what to run there. */
export type NodeJoin =
  | { readonly kind: "joined"; readonly node: ClusterNode }
  | { readonly kind: "instructions"; readonly role: "manager" | "worker"; readonly token: string; readonly managers: readonly string[] };

export interface NodeAddRequest {
  readonly role: "manager" | "worker";
  /** The new machine's Docker socket, reachable from the daemon (`unix:///path`). Absent: join instructions. */
  readonly dockerHost?: string;
  /** Address the other nodes reach it on (default: Docker picks the interface of the default route). */
  readonly advertiseAddr?: string;
}

export interface NodeAdmin {
  list(): Promise<readonly ClusterNode[]>;
  add(request: NodeAddRequest): Promise<NodeJoin>;
  /** Sets a node's availability (`drain`: its tasks move to the other nodes). `node`: id, id prefix or hostname. */
  setAvailability(node: string, availability: ClusterNode["availability"]): Promise<ClusterNode>;
  /** Removes a node that is down (or left); `force` also one that still runs. */
  remove(node: string, options: { readonly force: boolean }): Promise<void>;
}
