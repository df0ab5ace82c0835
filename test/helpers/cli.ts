/**
 * The CLI as users run it: the compiled `bin/berth` (never the TypeScript sources), as a separate
 * process, in a scratch directory, with a private HOME, XDG_CONFIG_HOME and data dir, so a test
 * never reads or writes the machine's real config, links or daemon. The one place tests spawn
 * the CLI from.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/berth", import.meta.url));

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Added to (and overriding) the scratch environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory; default: the scratch directory. */
  readonly cwd?: string;
  readonly stdin?: string;
}

/** Variables that would point a test's CLI at the machine's real daemon or project. */
const INHERITED_CONTEXT = ["BERTH_URL", "BERTH_TOKEN", "BERTH_PROJECT", "BERTH_ENV", "BERTH_CLI_CONFIG", "BERTH_DATA_DIR", "BERTH_HTTP_PORT", "BERTH_HTTPS_PORT"];

/** A private world for CLI runs: a scratch directory, HOME, config dir and data dir. */
export interface Scratch {
  readonly dir: string;
  readonly home: string;
  readonly dataDir: string;
  /** The environment every run gets (before CliOptions.env). */
  readonly env: Readonly<Record<string, string>>;
}

export function scratch(prefix = "berth-cli-"): Scratch {
  const root = mkdtempSync(join(tmpdir(), prefix));
  // Managed Postgres/Redis run as their own users and must traverse the data dir's parents.
  chmodSync(root, 0o711);
  const dir = join(root, "work");
  const home = join(root, "home");
  const dataDir = join(root, "data");
  for (const d of [dir, home]) mkdirSync(d, { recursive: true });
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INHERITED_CONTEXT.includes(k)) base[k] = v;
  // No HTTPS listener unless a test asks for one: the router refuses a taken port (no reuseport),
  // and tests running side by side would otherwise all want 443.
  const env = { ...base, NO_COLOR: "1", HOME: home, XDG_CONFIG_HOME: join(home, ".config"), BERTH_DATA_DIR: dataDir, BERTH_HTTPS_PORT: "0" };
  return { dir, home, dataDir, env };
}

let shared: Scratch | undefined;
/** One scratch world per test process, for tests that only need isolation. */
export function defaultScratch(): Scratch {
  shared ??= scratch();
  return shared;
}

/** Starts `bin/berth args...`; for commands that run until stopped (`logs -f`, `events -f`, `up`). */
export function spawnBerth(args: readonly string[], opts: CliOptions & { scratch?: Scratch } = {}): ChildProcess {
  const s = opts.scratch ?? defaultScratch();
  const child = spawn(BIN, [...args], { cwd: opts.cwd ?? s.dir, env: { ...s.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin?.end(opts.stdin ?? "");
  return child;
}

/** Runs `bin/berth args...` to the end. */
export function berth(args: readonly string[], opts: CliOptions & { scratch?: Scratch } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnBerth(args, opts);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => (stdout += d));
    child.stderr?.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Reads a running command's stdout until `pattern` shows, then stops it with SIGINT (as Ctrl-C
 * does) and returns what it printed and how it exited. The deadline turns a hang into a failure.
 */
export async function untilOutput(child: ChildProcess, pattern: RegExp, deadlineMs = 60_000): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const end = Date.now() + deadlineMs;
  while (!pattern.test(stdout) && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const seen = pattern.test(stdout);
  if (child.exitCode === null) child.kill("SIGINT");
  const status = await closed;
  if (!seen) throw new Error(`no ${pattern} in the output of berth within ${deadlineMs} ms (exit ${status})\nstdout: ${stdout}\nstderr: ${stderr}`);
  return { status, stdout, stderr };
}

/** A free loopback port (for the router of a daemon a test starts: never another test's port 80). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Stops the local daemon of a scratch world if a test left it running (only that pid). */
export async function stopScratchDaemon(s: Scratch): Promise<void> {
  let pid: number | undefined;
  try {
    pid = (JSON.parse(readFileSync(join(s.dataDir, "daemon.json"), "utf8")) as { pid?: number }).pid;
  } catch {
    return;
  }
  if (!pid) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
