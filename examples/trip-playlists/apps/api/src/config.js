/**
 * Configuration from the environment, read once. Berth (or any host) provides DATABASE_URL
 * (postgres:// or postgresql://), REDIS_URL and, for the API, PORT.
 */
import { hostname } from "node:os";

/** The first set variable among `names`; exits with a clear message when none is. */
export function required(...names) {
  const value = names.map((n) => process.env[n]).find((v) => v);
  if (!value) {
    console.error(`${names.join(" or ")} is not set`);
    process.exit(78); // EX_CONFIG: restarting will not help
  }
  return value;
}

/** A positive integer from the environment, or the fallback. */
export function intEnv(name, fallback) {
  const n = Number.parseInt(process.env[name] ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Who this process is, for rows it writes: Berth's instance id when there is one. */
export const instanceId = process.env.BERTH_INSTANCE_ID ?? `${hostname()}-${process.pid}`;
