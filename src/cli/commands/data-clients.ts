/**
 * `berth db psql` and `berth kv cli`: run the local `psql` / `redis-cli` against a managed
 * resource. The command builders are pure (tests assert the exact argv and env); the connection
 * and the password travel only in the child's environment (PGPASSWORD, REDISCLI_AUTH), never on
 * its command line, where `ps` would show them to every user of the machine.
 */
import { spawn } from "node:child_process";
import { BerthError } from "../../core/errors.ts";

/** What the API's `.../url` routes return. */
export interface ResourceUrl {
  readonly resource: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string | null;
  readonly pooledUrl: string | null;
}

export interface ClientCommand {
  readonly program: string;
  readonly args: readonly string[];
  /** Added to the caller's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Environment variable that overrides `program`. */
  readonly envVar: string;
}

const passwordOf = (url: string): string => decodeURIComponent(new URL(url.replace(/^[a-z]+:\/\//, "http://")).password);

/** psql with PG* variables; `extra` are the user's own psql arguments (after `--`). */
export function psqlCommand(c: ResourceUrl, extra: readonly string[], env: NodeJS.ProcessEnv = process.env): ClientCommand {
  return {
    program: env.BERTH_PSQL ?? "psql",
    args: [...extra],
    env: { PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGDATABASE: c.database ?? c.user, PGPASSWORD: passwordOf(c.url), PGAPPNAME: "berth-db-psql" },
    envVar: "BERTH_PSQL",
  };
}

/** redis-cli with REDISCLI_AUTH (redis-cli reads it instead of `-a`, which would show in `ps`). */
export function redisCliCommand(c: ResourceUrl, extra: readonly string[], env: NodeJS.ProcessEnv = process.env): ClientCommand {
  return {
    program: env.BERTH_REDIS_CLI ?? "redis-cli",
    args: ["-h", c.host, "-p", String(c.port), "--user", c.user, ...extra],
    env: { REDISCLI_AUTH: passwordOf(c.url) },
    envVar: "BERTH_REDIS_CLI",
  };
}

/**
 * Runs the client attached to this terminal and resolves with its exit code (signals map to
 * 128 + n, as shells do). A missing program is a catalogue error, not a stack trace.
 */
export function runClient(cmd: ClientCommand, stdio: "inherit" | "pipe" = "inherit"): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.program, [...cmd.args], { stdio: stdio === "inherit" ? "inherit" : ["ignore", "pipe", "inherit"], env: { ...process.env, ...cmd.env } });
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    // The client handles Ctrl-C itself (psql cancels the query); we only wait for it.
    const ignore = () => {};
    if (stdio === "inherit") process.on("SIGINT", ignore);
    const done = () => process.off("SIGINT", ignore);
    child.on("error", (e: NodeJS.ErrnoException) => {
      done();
      reject(new BerthError("BERTH_DATACLI_CLIENT_MISSING", { program: cmd.program, detail: e.code === "ENOENT" ? "not found on PATH" : e.message, envVar: cmd.envVar }));
    });
    child.on("close", (code, signal) => {
      done();
      resolve({ code: code ?? 128 + (signal ? 15 : 1), stdout });
    });
  });
}
