/**
 * `berth node add|list|drain|remove` and `berth status` on a real multi-node swarm (issue 20),
 * through the compiled CLI: three dockerds in network namespaces of their own
 * (src/engine/swarm/testing/test-cluster.ts), two of them joined; the daemon runs in the
 * cluster's hub namespace (where every node's address is reachable) with BERTH_DOCKER_HOST at the
 * manager's socket and the cluster's registry. A 3-replica web service spreads over the nodes;
 * the third machine joins through `berth node add`; draining a node moves its instances and
 * `berth status` says where each runs; a running node is not removed without --force, a dead one is.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { startLoadClient } from "../../src/engine/swarm/testing/load-client.ts";
import { startTestCluster, type TestCluster } from "../../src/engine/swarm/testing/test-cluster.ts";
import { canRunTestSwarm } from "../../src/engine/swarm/testing/test-swarm.ts";
import { BIN, type CliRun, type Scratch, scratch, stopScratchDaemon } from "../helpers/cli.ts";

const cannot = canRunTestSwarm();
if (cannot) throw new Error(`the swarm tests cannot run here: ${cannot}`);

const BLUEPRINT = `version: 1
project: fleet
engine: swarm
services:
  web:
    type: web
    start: node server.js
    replicas: 3
    health: { path: /health, interval: 1s }
`;
const SERVER = `require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "hello\\n")).listen(Number(process.env.PORT), "0.0.0.0");\n`;
const HTTP_PORT = 18081;

let cluster: TestCluster;
let s: Scratch;
let stack: string;
before(async () => {
  cluster = await startTestCluster({ nodes: 3, join: 2, heartbeatMs: 1000 });
  s = scratch("berth-swarm-nodes-");
  stack = join(s.dir, "fleet");
  mkdirSync(stack, { recursive: true });
  writeFileSync(join(stack, "berth.yaml"), BLUEPRINT);
  writeFileSync(join(stack, "server.js"), SERVER);
});
after(async () => {
  await cli(["down"], 120_000).catch(() => undefined);
  await stopScratchDaemon(s);
  await cluster?.stop();
  if (s) rmSync(dirname(s.dir), { recursive: true, force: true });
});

/** `bin/berth args` in the hub namespace (the daemon `up` starts lives there too). */
function cli(args: readonly string[], timeoutMs = 600_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cluster.hubNetns[0]!, [...cluster.hubNetns.slice(1), BIN, ...args], {
      cwd: stack,
      env: {
        ...s.env,
        BERTH_HTTP_PORT: String(HTTP_PORT),
        BERTH_DOCKER_HOST: `unix://${cluster.manager.docker.socketPath}`,
        BERTH_SWARM_REGISTRY: cluster.registry,
        BERTH_RESYNC_INTERVAL_MS: "2000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

const ok = (r: CliRun, what: string): string => {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

/** `berth status` until `pattern` shows in the web service's row (instances are re-read on every change). */
async function statusUntil(pattern: RegExp, timeoutMs = 90_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    last = ok(await cli(["status"], 60_000), "status");
    const row = last.split("\n").find((l) => /^\s+web\s/.test(l)) ?? "";
    if (pattern.test(row)) return row;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`berth status never showed ${pattern}:\n${last}`);
}

async function get(): Promise<string> {
  const probe = `require("node:http").get({ host: "127.0.0.1", port: ${HTTP_PORT}, path: "/", headers: { host: "web-development-fleet.localhost:${HTTP_PORT}" } }, (r) => { r.resume(); r.on("end", () => console.log(r.statusCode)); }).on("error", (e) => console.log("error " + e.message));`;
  return (await cluster.inHub([process.execPath, "-e", probe])).trim();
}

test("nodes through the CLI: add by Docker socket, list, status by node, drain moves instances, remove refuses a running node and takes a dead one", async () => {
  const t0 = Date.now();
  ok(await cli(["up", "--detach"]), "berth up");
  const upMs = Date.now() - t0;
  const first = await statusUntil(/3\/3\s+healthy on node1(?: x2)?, node2(?: x2)?$/);
  assert.equal(await get(), "200");

  const node3 = cluster.nodes[2]!;
  const add = ok(await cli(["node", "add", "--docker-host", `unix://${node3.docker.socketPath}`, "--advertise-addr", node3.addr]), "node add");
  assert.match(add, /^node3 joined as a worker \(192\.168\.77\.3, ready\)$/m);
  const list = ok(await cli(["node", "list"]), "node list");
  assert.match(list, /^HOSTNAME\s+ROLE\s+STATE\s+AVAILABILITY\s+ADDRESS\s+ID$/m);
  assert.match(list, /^node1\s+manager \(leader\)\s+ready\s+active\s+192\.168\.77\.1\s/m);
  assert.match(list, /^node2\s+worker\s+ready\s+active\s+192\.168\.77\.2\s/m);
  assert.match(list, /^node3\s+worker\s+ready\s+active\s+192\.168\.77\.3\s/m);
  const instructions = ok(await cli(["node", "add"]), "node add (no socket)");
  assert.match(instructions, /token\s+SWMTKN-/);
  assert.match(instructions, /managers\s+192\.168\.77\.1:2377/);

  const t1 = Date.now();
  ok(await cli(["node", "drain", "node2"]), "node drain");
  const drained = await statusUntil(/3\/3\s+healthy on (?!.*node2)/);
  const drainMs = Date.now() - t1;
  assert.match(ok(await cli(["node", "list"]), "node list"), /^node2\s+worker\s+ready\s+drain\s/m);
  assert.equal(await get(), "200");

  const refused = await cli(["node", "remove", "node2"]);
  assert.equal(refused.status, 2, refused.stdout);
  assert.match(refused.stderr, /node 'node2' is ready: only a node that is down \(or has left the swarm\) is removed \[BERTH_NODE_NOT_DOWN\]/);
  await cluster.nodes[1]!.killDockerd();
  const until = Date.now() + 60_000;
  while (!/^node2\s+worker\s+down\s/m.test(ok(await cli(["node", "list"]), "node list")) && Date.now() < until) await new Promise((r) => setTimeout(r, 500));
  ok(await cli(["node", "remove", "node2"]), "node remove");
  const after = ok(await cli(["node", "list"]), "node list");
  assert.doesNotMatch(after, /^node2/m);
  assert.ok(!/^node2/m.test(after) && /^node3/m.test(after));
  process.stdout.write(`# up ${upMs} ms; status before: ${first.trim()}\n# drain node2 -> instances moved in ${drainMs} ms: ${drained.trim()}\n# after remove:\n${after.split("\n").map((l) => `#   ${l}`).join("\n")}\n`);
});

test("the router keeps serving while a machine with instances is lost (network cut + dockerd kill -9): failed requests counted", async () => {
  // After the test above: node1 (manager) and node3 run the 3 instances.
  const before = await statusUntil(/3\/3\s+healthy on .*node3/);
  const load = startLoadClient((argv) => cluster.spawnInHub(argv));
  try {
    // A browser-like patience (15 s): HAProxy waits out its 5 s connect timeout on a machine that
    // drops packets, then redispatches; slow answers are counted apart from failed ones.
    load.fixed([`127.0.0.1:${HTTP_PORT}`], `web-development-fleet.localhost:${HTTP_PORT}`, 15_000);
    await new Promise((r) => setTimeout(r, 3000));
    const node3 = cluster.nodes[2]!;
    const lostAt = Date.now();
    await node3.cutNetwork();
    await node3.killDockerd();
    const moved = await statusUntil(/3\/3\s+healthy on node1 x3$/, 120_000);
    const movedMs = Date.now() - lostAt;
    await new Promise((r) => setTimeout(r, 6000));
    const stats = await load.stop();
    const late = stats.failedAt.filter((t) => t > lostAt + 2000 + 15_000).length; // after two 1 s health checks (fall 2) and the client's timeout
    const spanS = stats.failedAt.length ? ((Math.max(...stats.failedAt) - lostAt) / 1000).toFixed(1) : "0";
    process.stdout.write(
      `# through the router (HAProxy, checks every 1 s, fall 2): before ${before.trim()}; node3 lost -> ${moved.trim()} after ${movedMs} ms; requests ok ${stats.ok} (slower than 1 s: ${stats.slow}, slowest ${stats.maxMs} ms) failed ${stats.failed} (last failure ${spanS} s after the loss; after 2 checks + timeout: ${late})${stats.errors.length ? ` e.g. ${stats.errors.slice(0, 3).join("; ")}` : ""}\n`,
    );
    assert.ok(stats.ok > 500, `only ${stats.ok} requests`);
    assert.equal(late, 0, stats.errors.join("; "));
  } finally {
    load.kill();
  }
});
