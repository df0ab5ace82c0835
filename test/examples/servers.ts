/**
 * Throwaway PostgreSQL 15 (Debian binaries, run as the `postgres` OS user) and Redis servers on
 * free loopback ports, for exercising the example apps outside Berth. Also usable by hand:
 * `node test/examples/servers.ts` prints DATABASE_URL and REDIS_URL and runs until Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PG_BIN = "/usr/lib/postgresql/15/bin";

/** A port the kernel just handed out on 127.0.0.1 (free at the time of the call). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** A running server and how to stop it. */
export interface TestServer {
  readonly url: string;
  stop(): Promise<void>;
}

function osUser(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
  return { uid, gid };
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function succeeds(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * PostgreSQL 15 with a password-protected `app` role owning database `app`. The URL uses the
 * `postgres://` scheme on purpose: that is what Render-style hosts hand out.
 */
export async function startPostgres(): Promise<TestServer> {
  const root = mkdtempSync(join(tmpdir(), "berth-ex-pg-"));
  chmodSync(root, 0o755);
  const { uid, gid } = osUser("postgres");
  const data = join(root, "data");
  const sock = join(root, "sock");
  mkdirSync(sock);
  chownSync(root, uid, gid);
  chownSync(sock, uid, gid);
  const pwfile = join(root, "pw");
  writeFileSync(pwfile, "postgres\n");
  chownSync(pwfile, uid, gid);
  execFileSync(join(PG_BIN, "initdb"), ["-D", data, "-U", "postgres", "--pwfile", pwfile, "-A", "scram-sha-256", "--no-sync"], { uid, gid, stdio: "ignore" });
  const port = await freePort();
  const child = spawn(join(PG_BIN, "postgres"), ["-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", sock, "-c", "fsync=off"], { uid, gid, stdio: "ignore" });
  const ready = () => succeeds(join(PG_BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port), "-q"]);
  await waitFor(ready, "postgres");
  const psql = (sql: string) =>
    execFileSync(join(PG_BIN, "psql"), ["-h", sock, "-p", String(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql], { uid, gid, stdio: "ignore", env: { PGPASSWORD: "postgres" } });
  psql("CREATE ROLE app LOGIN PASSWORD 'app-secret'");
  psql("CREATE DATABASE app OWNER app");
  return {
    url: `postgres://app:app-secret@127.0.0.1:${port}/app`,
    async stop() {
      child.kill("SIGINT"); // fast shutdown
      await waitExit(child, 10_000);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Redis 7 with no persistence: its data is gone once stopped. */
export async function startRedis(): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "berth-ex-redis-"));
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--daemonize", "no", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await waitFor(() => succeeds("redis-cli", ["-p", String(port), "ping"]), "redis");
  const stop = async () => {
    child.kill("SIGTERM");
    await waitExit(child, 10_000);
    rmSync(dir, { recursive: true, force: true });
  };
  return { url: `redis://127.0.0.1:${port}`, stop };
}

if (import.meta.main) {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  console.log(`DATABASE_URL=${pg.url}\nREDIS_URL=${redis.url}`);
  const stop = async () => {
    await Promise.all([pg.stop(), redis.stop()]);
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}
