/**
 * A three-node swarm (testing/test-cluster.ts: three dockerds, each in its own network namespace,
 * joined over a bridge the test owns): a web service of 3 replicas spreads one per node, and
 * `actual()` says which node each instance runs on. Then `kill -9` of a worker's dockerd: Swarm
 * marks the node down and reschedules its task on the remaining nodes, the engine moves the
 * instance's traffic to the new task, and a load client driven by the engine's TrafficPort
 * (standing in for the router, in the hub namespace) counts failed requests throughout.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { contractSpec, eventually, RecordedEvents } from "../contract/contract-fixture.ts";
import type { ActualInstance, HealthSpec, RolloutEvent, ServiceRef } from "../engine.ts";
import { startLoadClient } from "./testing/load-client.ts";
import { openTestEnv, swarmRelease } from "./testing/swarm-fixture.ts";
import { startTestCluster, type TestCluster } from "./testing/test-cluster.ts";
import { canRunTestSwarm } from "./testing/test-swarm.ts";
import { SwarmEngine } from "./swarm-engine.ts";
import { contractRedact } from "../contract/contract-fixture.ts";

const cannot = canRunTestSwarm();
if (cannot) throw new Error(`the swarm engine tests cannot run here: ${cannot}`);

const HEARTBEAT_MS = 1000;
const health: HealthSpec = { path: "/health", intervalMs: 500, timeoutMs: 3000, unhealthyThreshold: 3, healthyThreshold: 1, graceMs: 1000, deployTimeoutMs: 60_000 };

let cluster: TestCluster;
before(async () => {
  const t0 = Date.now();
  cluster = await startTestCluster({ nodes: 3, heartbeatMs: HEARTBEAT_MS });
  process.stdout.write(`# three-node swarm up in ${Date.now() - t0} ms\n`);
});
after(() => cluster?.stop());

const byNode = (instances: readonly ActualInstance[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const i of instances) out[i.node ?? "?"] = (out[i.node ?? "?"] ?? 0) + 1;
  return out;
};

test("swarm cluster: 3 replicas spread over 3 nodes; kill -9 of a worker's dockerd reschedules its task on the others; traffic follows", async () => {
  const events = new RecordedEvents();
  const engine = new SwarmEngine({
    docker: cluster.manager.docker, registry: cluster.registry, namespace: "cl", events, openEnv: openTestEnv, redact: contractRedact,
    pollMs: 150, drainMs: 1200, restartDelayMs: 100, minHealthIntervalMs: 300,
  });
  await engine.start();
  const load = startLoadClient((argv) => cluster.spawnInHub(argv));
  const ref: ServiceRef = { project: "shop", environment: "production", service: "web" };
  const spec = contractSpec(ref, "exec node app.cjs", { replicas: 3, health });
  try {
    const t0 = Date.now();
    const got: RolloutEvent[] = [];
    for await (const e of engine.apply(spec, swarmRelease(cluster.dir, ref, 1, { GREETING: "v1" }), { policy: { kind: "start-first", maxSurge: 1 }, health: { wait: async () => ({ ok: true, detail: "swarm" }) }, traffic: load.traffic }, new AbortController().signal)) got.push(e);
    assert.equal(got.at(-1)?.step, "done", JSON.stringify(got));
    const deployMs = Date.now() - t0;

    const first = (await engine.actual(ref))[0]!.instances;
    assert.equal(first.length, 3);
    assert.ok(first.every((i) => i.state === "healthy" && i.endpoint));
    assert.deepEqual(byNode(first), { node1: 1, node2: 1, node3: 1 }, "one replica per node (spread over node.id)");
    for (const i of first) assert.equal(i.endpoint!.host, cluster.nodes.find((n) => n.hostname === i.node)!.addr, "the endpoint is the published port on the task's node");
    assert.equal(load.rotation.size, 3);
    await new Promise((r) => setTimeout(r, 1500));

    // kill -9 of node3's dockerd (a worker).
    const victim = cluster.nodes[2]!;
    const lost = first.find((i) => i.node === victim.hostname)!;
    const killedAt = Date.now();
    await victim.killDockerd();
    const down = await eventually(async () => {
      const nodes = await cluster.manager.docker.json<{ Description: { Hostname: string }; Status: { State: string } }[]>({ path: "/nodes" });
      return nodes.find((n) => n.Description.Hostname === victim.hostname)?.Status.State === "down" ? Date.now() : 0;
    }, 60_000, "the manager marking node3 down");
    const outOfRotation = await eventually(() => (![...load.rotation.values()].some((e) => e.host === victim.addr) ? Date.now() : 0), 60_000, "node3's endpoint leaving the rotation");
    const moved = await eventually(async () => {
      const now = (await engine.actual(ref))[0]!.instances;
      return now.length === 3 && now.every((i) => i.state === "healthy" && i.node !== victim.hostname) && load.rotation.size === 3 ? { at: Date.now(), now } : undefined;
    }, 90_000, "the lost task rescheduled and healthy on the remaining nodes");
    const after = moved.now;
    // One health interval after the reschedule: what the load client saw by then is the result.
    await new Promise((r) => setTimeout(r, health.intervalMs + 1000));
    const stats = await load.stop();
    const settledAt = moved.at + health.intervalMs;
    const failedAfter = stats.failedAt.filter((t) => t > settledAt).length;
    const moves = events.of("instance:restarting").map((e) => e.data.instance);
    process.stdout.write(
      `# deploy of 3 replicas ${deployMs} ms; kill -9 node3 dockerd -> node down ${down - killedAt} ms, out of rotation ${outOfRotation - killedAt} ms, rescheduled + healthy ${moved.at - killedAt} ms; ` +
        `placement before ${JSON.stringify(byNode(first))} after ${JSON.stringify(byNode(after))}; requests ok ${stats.ok} failed ${stats.failed} (after one health interval: ${failedAfter}) by node ${JSON.stringify(stats.byTarget)}${stats.errors.length ? ` errors ${stats.errors.slice(0, 5).join("; ")}` : ""}\n`,
    );
    assert.deepEqual(after.map((i) => i.id).sort(), first.map((i) => i.id).sort(), "the same instances (slots), one of them restarted elsewhere");
    assert.ok(moves.includes(lost.id), `the lost instance ${lost.id} was reported restarting: ${JSON.stringify(moves)}`);
    assert.ok(after.every((i) => i.node === "node1" || i.node === "node2"));
    assert.ok(![...load.rotation.values()].some((e) => e.host === victim.addr), "nothing on node3 in rotation");
    assert.equal(failedAfter, 0, stats.errors.join("; "));
    assert.ok(stats.ok > 200, `only ${stats.ok} requests`);
  } finally {
    load.kill();
    await engine.stop({ stopInstances: true }).catch(() => {});
  }
});

test("swarm cluster: a lost machine (dockerd killed and its network cut) leaves the rotation when Swarm marks it down; its tasks come back on the other nodes", async () => {
  // node3 is down since the test above: 2 replicas on node1 and node2, then node2 is lost.
  const events = new RecordedEvents();
  const engine = new SwarmEngine({
    docker: cluster.manager.docker, registry: cluster.registry, namespace: "cl2", events, openEnv: openTestEnv, redact: contractRedact,
    pollMs: 150, drainMs: 1200, restartDelayMs: 100, minHealthIntervalMs: 300,
  });
  await engine.start();
  const load = startLoadClient((argv) => cluster.spawnInHub(argv));
  const ref: ServiceRef = { project: "shop", environment: "production", service: "api" };
  const spec = contractSpec(ref, "exec node app.cjs", { replicas: 2, health });
  try {
    const got: RolloutEvent[] = [];
    for await (const e of engine.apply(spec, swarmRelease(cluster.dir, ref, 1, { GREETING: "v1" }), { policy: { kind: "start-first", maxSurge: 1 }, health: { wait: async () => ({ ok: true, detail: "swarm" }) }, traffic: load.traffic }, new AbortController().signal)) got.push(e);
    assert.equal(got.at(-1)?.step, "done", JSON.stringify(got));
    const first = (await engine.actual(ref))[0]!.instances;
    assert.deepEqual(byNode(first), { node1: 1, node2: 1 });
    await new Promise((r) => setTimeout(r, 1500));

    const victim = cluster.nodes[1]!;
    const lostAt = Date.now();
    await victim.cutNetwork();
    await victim.killDockerd();
    const outOfRotation = await eventually(() => (![...load.rotation.values()].some((e) => e.host === victim.addr) ? Date.now() : 0), 60_000, "node2's endpoint leaving the rotation");
    const moved = await eventually(async () => {
      const now = (await engine.actual(ref))[0]!.instances;
      return now.length === 2 && now.every((i) => i.state === "healthy" && i.node === "node1") && load.rotation.size === 2 ? { at: Date.now(), now } : undefined;
    }, 90_000, "the lost task rescheduled on node1");
    await new Promise((r) => setTimeout(r, health.intervalMs + 1000));
    const stats = await load.stop();
    const failedBeforeOut = stats.failedAt.filter((t) => t <= outOfRotation + 3000).length; // a request sent just before takes its 3 s timeout to fail
    const failedAfter = stats.failedAt.filter((t) => t > outOfRotation + 3000 + health.intervalMs).length;
    process.stdout.write(
      `# machine lost (node2: network cut + dockerd kill -9) -> out of rotation ${outOfRotation - lostAt} ms, rescheduled + healthy on node1 ${moved.at - lostAt} ms; ` +
        `requests ok ${stats.ok} failed ${stats.failed} (until out of rotation, incl. their 3 s timeout: ${failedBeforeOut}; after that + one health interval: ${failedAfter})${stats.errors.length ? ` e.g. ${stats.errors.slice(0, 3).join("; ")}` : ""}\n`,
    );
    assert.equal(failedAfter, 0, stats.errors.join("; "));
    assert.ok(stats.ok > 200, `only ${stats.ok} requests`);
  } finally {
    load.kill();
    await engine.stop({ stopInstances: true }).catch(() => {});
  }
});
