/**
 * Pure rendering of redis.conf. The password is stored only as a SHA-256 hash in an ACL line
 * (`user default on #<sha256>`), so the file holds no plaintext secret; clients still use
 * AUTH <password> exactly as with requirepass.
 */
import { createHash } from "node:crypto";
import type { ResolvedRedisInput } from "./input.ts";

export interface RedisSettings {
  readonly port: number;
  readonly dir: string;
  /** Lets a restarted daemon find and stop a server it orphaned. */
  readonly pidFile?: string;
  readonly passwordSha256: string;
  /** Overrides the input's persistence (a restore loads the RDB first, then turns AOF on). */
  readonly persistence?: ResolvedRedisInput["persistence"];
}

export const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

export function renderRedisConf(input: ResolvedRedisInput, s: RedisSettings): string {
  const persistence = s.persistence ?? input.persistence;
  const lines = [
    "# Written by Berth on every start; edit the blueprint instead.",
    "bind 127.0.0.1",
    "protected-mode yes",
    `port ${s.port}`,
    "daemonize no",
    `dir ${s.dir}`,
    "dbfilename dump.rdb",
    ...(s.pidFile ? [`pidfile ${s.pidFile}`] : []),
    `maxmemory ${input.maxmemoryBytes}`,
    `maxmemory-policy ${input.eviction}`,
    `user default on #${s.passwordSha256} ~* &* +@all`,
    "loglevel notice",
    'logfile ""',
  ];
  if (persistence === "rdb") lines.push("save 3600 1 300 100 60 10000", "appendonly no");
  if (persistence === "aof") lines.push('save ""', "appendonly yes", "appendfsync everysec", 'appenddirname "appendonly"');
  if (persistence === "none") lines.push('save ""', "appendonly no");
  return `${lines.join("\n")}\n`;
}

/**
 * Why a running server must restart to take `next`, or undefined when it need not: the rendered
 * files differ in a setting. Secrets are named, never shown (the ACL line holds a password hash).
 */
export function settingsChange(current: string, next: string): string | undefined {
  const settings = (text: string) =>
    new Map(
      text
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("#"))
        .map((l) => {
          const [key, ...rest] = l.split(" ");
          // `save` and `user` may repeat in principle; Berth writes each once.
          return [key!, rest.join(" ")] as const;
        }),
    );
  const a = settings(current);
  const b = settings(next);
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  if (changed.length === 0) return undefined;
  return changed.map((k) => (k === "user" ? "password changed" : `${k} ${a.get(k) ?? "(unset)"} -> ${b.get(k) ?? "(unset)"}`)).join(", ");
}
