/**
 * A real single-node swarm for tests, started by the test itself: dockerd with its own data-root,
 * exec-root and socket under a temp dir, in a network and mount namespace of its own (`unshare`),
 * so it never meets another dockerd on this host (docker0, iptables chains, ports 2377/7946/4789
 * are all per namespace) and its mounts vanish with it. Berth's registry runs in the same network
 * namespace. Tests reach published ports through `inNetns` (a child process in that namespace).
 * Needs root, `unshare`, `nsenter`, `ip`, dockerd and docker-registry (scripts/bootstrap.sh).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DockerApi } from "../docker-api.ts";
import { LocalRegistry } from "../registry.ts";

const run = promisify(execFile);

export interface TestSwarm {
  readonly dir: string;
  readonly docker: DockerApi;
  readonly registry: string;
  /** Argv prefix running a command in the swarm's network namespace. */
  readonly netns: readonly string[];
  /** Runs argv in the namespace and returns its stdout. */
  inNetns(argv: readonly string[], options?: { timeoutMs?: number }): Promise<string>;
  /** Spawns argv in the namespace (for long-running clients). */
  spawnInNetns(argv: readonly string[]): ChildProcess;
  stop(): Promise<void>;
}

/** Whether this machine can run the swarm tests (root and the binaries). */
export function canRunTestSwarm(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, dockerd)";
  for (const bin of ["/usr/sbin/dockerd", "/usr/bin/docker-registry", "/usr/bin/unshare", "/usr/bin/nsenter"]) if (!existsSync(bin)) return `${bin} is missing (scripts/bootstrap.sh installs it)`;
  return undefined;
}

async function waitFor(what: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface TestSwarmOptions {
  /** Start Berth's registry in the namespace too (default true; false when the daemon under test starts its own). */
  readonly registry?: boolean;
}

export async function startTestSwarm(options: TestSwarmOptions = {}): Promise<TestSwarm> {
  const dir = mkdtempSync(join(tmpdir(), "berth-swarm-"));
  const sock = join(dir, "docker.sock");
  const dockerd = spawn(
    "unshare",
    ["--net", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", 'ip link set lo up && exec "$@"', "sh",
      "dockerd", "--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--host", `unix://${sock}`, "--pidfile", join(dir, "dockerd.pid"), "--log-level", "error"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  dockerd.stderr!.on("data", (c: Buffer) => {
    log = (log + c.toString()).slice(-4000);
  });
  const docker = new DockerApi(sock);
  const netns = ["nsenter", `--net=/proc/${dockerd.pid}/ns/net`, "--"];
  const registry = new LocalRegistry({ dataDir: join(dir, "registry"), address: "127.0.0.1:5000", wrap: netns });
  const stop = async (): Promise<void> => {
    // Services first, so dockerd does not wait out every task's stop grace period on shutdown.
    const services = await docker.json<{ ID: string }[]>({ path: "/services" }).catch(() => []);
    for (const s of services) await docker.json({ method: "DELETE", path: `/services/${s.ID}` }).catch(() => {});
    await registry.stop();
    if (dockerd.exitCode === null) {
      const exited = new Promise((r) => dockerd.once("exit", r));
      dockerd.kill("SIGTERM");
      const t = setTimeout(() => dockerd.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
    }
    // containerd and its shims were started by this dockerd: whatever is left of them holds our dir.
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(Number(pid), "SIGKILL");
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    await waitFor(`dockerd (${log})`, 60_000, async () => {
      if (dockerd.exitCode !== null) throw new Error(`dockerd exited: ${log}`);
      return existsSync(sock) && (await docker.open({ path: "/_ping" })).statusCode === 200;
    });
    await docker.json({ method: "POST", path: "/swarm/init", body: { ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1", TaskDefaults: {}, Spec: { Orchestration: { TaskHistoryRetentionLimit: 5 } } } });
    if (options.registry ?? true) await registry.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir,
    docker,
    registry: registry.address,
    netns,
    inNetns: async (argv, options = {}) => (await run(netns[0]!, [...netns.slice(1), ...argv], { timeout: options.timeoutMs ?? 10_000 })).stdout,
    spawnInNetns: (argv) => spawn(netns[0]!, [...netns.slice(1), ...argv], { stdio: ["pipe", "pipe", "pipe"] }),
    stop,
  };
}
