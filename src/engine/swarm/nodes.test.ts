/** Pure parts of `berth node` (issue 20): Docker's nodes as Berth shows them, and naming a node. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type DockerNode, findNode, nodeView } from "./nodes.ts";

const node = (id: string, hostname: string, extra: Partial<DockerNode> = {}): DockerNode => ({
  ID: id,
  Version: { Index: 1 },
  Spec: { Role: "worker", Availability: "active" },
  Description: { Hostname: hostname, Engine: { EngineVersion: "20.10.24" } },
  Status: { State: "ready", Addr: "10.0.0.2" },
  ...extra,
});

test("nodeView: role, state, availability, address, manager status (leader or reachability)", () => {
  assert.deepEqual(nodeView(node("abc123def4567890", "node2")), { id: "abc123def4567890", hostname: "node2", role: "worker", state: "ready", availability: "active", address: "10.0.0.2", engineVersion: "20.10.24" });
  const leader = nodeView(node("m1", "node1", { Spec: { Role: "manager", Availability: "drain" }, ManagerStatus: { Leader: true, Reachability: "reachable" } }));
  assert.equal(leader.role, "manager");
  assert.equal(leader.managerStatus, "leader");
  assert.equal(leader.availability, "drain");
  assert.equal(nodeView(node("m2", "node4", { Spec: { Role: "manager" }, ManagerStatus: { Reachability: "unreachable" } })).managerStatus, "unreachable");
  assert.equal(nodeView({ ID: "x1234567890123", Version: { Index: 1 }, Spec: {} }).hostname, "x12345678901");
});

test("findNode: by hostname, full id or an id prefix of 4+ characters; ambiguous and unknown names say which nodes exist", () => {
  const nodes = [node("abcd1111", "node1"), node("abcd2222", "node2"), node("ef001234", "node3")];
  assert.equal(findNode(nodes, "node2").ID, "abcd2222");
  assert.equal(findNode(nodes, "ef001234").ID, "ef001234");
  assert.equal(findNode(nodes, "ef00").ID, "ef001234");
  assert.throws(() => findNode(nodes, "abcd"), /no node 'abcd': it names 2 nodes; use the node id \(nodes: node1 \(abcd1111\), node2 \(abcd2222\), node3 \(ef001234\)\)/);
  assert.throws(() => findNode(nodes, "node9"), /no node 'node9': no node has this id or hostname/);
  assert.throws(() => findNode(nodes, "ef"), /BERTH_NODE_UNKNOWN|no node 'ef'/, "prefixes shorter than 4 match nothing");
});
