/**
 * A real multi-node swarm for tests: N separate dockerd daemons (one manager, the rest workers),
 * each in a network and UTS namespace of its own, wired to a bridge in a "hub" namespace the test
 * owns by veth pairs (192.168.77.0/24: node i is .i, the hub .254). Nothing is reachable from the
 * host's own network and nothing of it reaches out: the nodes talk to each other and to Berth's
 * registry (in the hub, `192.168.77.254:5000`, trusted by every dockerd through
 * `--insecure-registry`) over that bridge only. Every dockerd runs with its own data-root,
 * exec-root, socket, mount namespace and cgroup parent under one temp dir, so a node can be killed
 * (`kill -9` of its dockerd) and everything it leaves behind is still found and removed at the end.
 * Tests reach published ports through `inHub` (a child process in the hub's namespace).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { DockerApi } from "../docker-api.ts";
import { LocalRegistry } from "../registry.ts";

const run = promisify(execFile);
const SUBNET = "192.168.77";
const HUB_ADDR = `${SUBNET}.254`;

export interface ClusterNode {
  readonly index: number;
  readonly hostname: string;
  readonly addr: string;
  readonly role: "manager" | "worker";
  readonly docker: DockerApi;
  /** dockerd's pid (undefined once it exited). */
  readonly pid: number | undefined;
  /** `kill -9` of this node's dockerd (its containerd follows; containers keep running, as on a real crash). */
  killDockerd(): Promise<void>;
  /** Takes the node's link to the bridge down: nothing reaches it, it reaches nothing (a lost machine). */
  cutNetwork(): Promise<void>;
}

export interface TestCluster {
  readonly dir: string;
  /** Argv prefix running a command in the hub's network namespace. */
  readonly hubNetns: readonly string[];
  readonly nodes: readonly ClusterNode[];
  readonly manager: ClusterNode;
  /** `host:port` of the registry every node pulls from. */
  readonly registry: string;
  /** Runs argv in the hub's network namespace (where every node's address is reachable). */
  inHub(argv: readonly string[], options?: { timeoutMs?: number }): Promise<string>;
  spawnInHub(argv: readonly string[]): ChildProcess;
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /** Nodes in all, the first one the manager (default 3). */
  readonly nodes?: number;
  /** Swarm heartbeat period: a node is marked down after a few missed beats (default 1 s; Docker's is 5 s). */
  readonly heartbeatMs?: number;
  /** Nodes joined to the swarm at start, the manager included (default all); the others run, unjoined. */
  readonly join?: number;
}

async function waitFor(what: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** A process holding fresh network + UTS namespaces (hostname set, loopback up) until killed. */
async function holder(hostname: string): Promise<ChildProcess> {
  const child = spawn("unshare", ["--net", "--uts", "--", "/bin/sh", "-c", `hostname ${hostname} && ip link set lo up && echo ready && exec sleep 86400`], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", () => resolve());
    child.once("exit", (code) => reject(new Error(`namespace holder exited (${code}): ${err}`)));
  });
  return child;
}

const nsenter = (pid: number, ...kinds: ("net" | "uts")[]): string[] => ["nsenter", ...kinds.map((k) => `--${k}=/proc/${pid}/ns/${k}`), "--"];

/** Kills every process whose command line names `dir` or whose cgroup path holds `token`. */
function killLeftovers(dir: string, token: string): void {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir) || readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(token)) process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
}

/** Removes the (empty) cgroups dockerd made under its cgroup parent, deepest first. */
function removeCgroups(token: string): void {
  const root = "/sys/fs/cgroup";
  const found: string[] = [];
  const walk = (d: string, depth: number): void => {
    if (depth > 3) return;
    let entries: string[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      if (e.includes(token)) found.push(p);
      else walk(p, depth + 1);
    }
  };
  walk(root, 0);
  for (const top of found) {
    const all: string[] = [];
    const collect = (d: string): void => {
      all.push(d);
      try {
        for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) collect(join(d, e.name));
      } catch {}
    };
    collect(top);
    for (const d of all.reverse()) {
      try {
        rmdirSync(d);
      } catch {}
    }
  }
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const count = options.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), "berth-cluster-"));
  const token = `berth-cluster-${randomBytes(4).toString("hex")}`;
  const registryAddr = `${HUB_ADDR}:5000`;
  const holders: ChildProcess[] = [];
  const daemons: (ChildProcess | undefined)[] = [];
  const logs: string[] = [];
  let registry: LocalRegistry | undefined;
  let hub: ChildProcess | undefined;
  const nodes: ClusterNode[] = [];

  const stop = async (): Promise<void> => {
    const manager = nodes[0];
    if (manager && daemons[0]?.exitCode === null) {
      const services = await manager.docker.json<{ ID: string }[]>({ path: "/services" }).catch(() => []);
      for (const s of services) await manager.docker.json({ method: "DELETE", path: `/services/${s.ID}` }).catch(() => {});
    }
    await registry?.stop().catch(() => {});
    await Promise.all(
      daemons.map(async (d) => {
        if (!d || d.exitCode !== null || d.signalCode !== null) return;
        const exited = new Promise((r) => d.once("exit", r));
        d.kill("SIGTERM");
        const t = setTimeout(() => d.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(t);
      }),
    );
    // containerd, shims and the containers of a killed node: found by dir and cgroup parent.
    killLeftovers(dir, token);
    for (const h of [...holders, ...(hub ? [hub] : [])]) if (h.exitCode === null) h.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    killLeftovers(dir, token);
    try {
      removeCgroups(token);
    } catch {}
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    hub = await holder(`berth-hub-${token.slice(-8)}`);
    const hubNs = nsenter(hub.pid!, "net");
    const inHub = async (argv: readonly string[], timeoutMs = 10_000): Promise<string> => (await run(hubNs[0]!, [...hubNs.slice(1), ...argv], { timeout: timeoutMs })).stdout;
    await inHub(["ip", "link", "add", "br0", "type", "bridge"]);
    await inHub(["ip", "addr", "add", `${HUB_ADDR}/24`, "dev", "br0"]);
    await inHub(["ip", "link", "set", "br0", "up"]);

    for (let i = 1; i <= count; i++) {
      const hostname = `node${i}`;
      const h = await holder(hostname);
      holders.push(h);
      const ns = nsenter(h.pid!, "net");
      await inHub(["ip", "link", "add", `vn${i}`, "type", "veth", "peer", "name", "eth0", "netns", String(h.pid)]);
      await inHub(["ip", "link", "set", `vn${i}`, "master", "br0", "up"]);
      await run(ns[0]!, [...ns.slice(1), "ip", "addr", "add", `${SUBNET}.${i}/24`, "dev", "eth0"]);
      await run(ns[0]!, [...ns.slice(1), "ip", "link", "set", "eth0", "up"]);
      const root = join(dir, hostname);
      const sock = join(root, "docker.sock");
      const d = spawn(
        "nsenter",
        [...nsenter(h.pid!, "net", "uts").slice(1), "unshare", "--mount", "--propagation", "private", "--",
          "dockerd", "--data-root", join(root, "data"), "--exec-root", join(root, "exec"), "--host", `unix://${sock}`, "--pidfile", join(root, "dockerd.pid"),
          "--cgroup-parent", `${token}-${hostname}`, "--insecure-registry", registryAddr, "--log-level", "error"],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      daemons.push(d);
      logs[i - 1] = "";
      d.stderr!.on("data", (c: Buffer) => (logs[i - 1] = (logs[i - 1] + c.toString()).slice(-4000)));
      const docker = new DockerApi(sock);
      nodes.push({
        index: i,
        hostname,
        addr: `${SUBNET}.${i}`,
        role: i === 1 ? "manager" : "worker",
        docker,
        get pid() {
          return d.exitCode === null && d.signalCode === null ? d.pid : undefined;
        },
        cutNetwork: async () => {
          await inHub(["ip", "link", "set", `vn${i}`, "down"]);
        },
        killDockerd: async () => {
          if (d.exitCode !== null || d.signalCode !== null) return;
          const exited = new Promise((r) => d.once("exit", r));
          process.kill(d.pid!, "SIGKILL");
          await exited;
        },
      });
    }
    await Promise.all(
      nodes.map((n, k) =>
        waitFor(`dockerd of ${n.hostname}`, 90_000, async () => {
          if (daemons[k]!.exitCode !== null) throw new Error(`dockerd of ${n.hostname} exited: ${logs[k]}`);
          return existsSync(n.docker.socketPath) && (await n.docker.open({ path: "/_ping" })).statusCode === 200;
        }),
      ),
    );
    registry = new LocalRegistry({ dataDir: join(dir, "registry"), address: registryAddr, wrap: hubNs });
    await registry.start();

    const manager = nodes[0]!;
    const heartbeatNs = (options.heartbeatMs ?? 1000) * 1e6;
    await manager.docker.json({
      method: "POST",
      path: "/swarm/init",
      body: { ListenAddr: `${manager.addr}:2377`, AdvertiseAddr: manager.addr, Spec: { Orchestration: { TaskHistoryRetentionLimit: 5 }, Dispatcher: { HeartbeatPeriod: heartbeatNs } } },
    });
    const swarm = await manager.docker.json<{ JoinTokens: { Worker: string } }>({ path: "/swarm" });
    const joined = options.join ?? count;
    for (const n of nodes.slice(1, joined)) {
      await n.docker.json({ method: "POST", path: "/swarm/join", body: { ListenAddr: `${n.addr}:2377`, AdvertiseAddr: n.addr, RemoteAddrs: [`${manager.addr}:2377`], JoinToken: swarm.JoinTokens.Worker } });
    }
    await waitFor(`${joined} ready nodes`, 60_000, async () => {
      const list = await manager.docker.json<{ Status: { State: string } }[]>({ path: "/nodes" });
      return list.length === joined && list.every((x) => x.Status.State === "ready");
    });
    return {
      dir,
      hubNetns: hubNs,
      nodes,
      manager,
      registry: registryAddr,
      inHub: (argv, o = {}) => inHub(argv, o.timeoutMs),
      spawnInHub: (argv) => spawn(hubNs[0]!, [...hubNs.slice(1), ...argv], { stdio: ["pipe", "pipe", "pipe"] }),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
