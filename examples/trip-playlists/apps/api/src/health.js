/**
 * The health report: database and Redis are each checked for real (a query, a PING) with a
 * deadline, so a dead dependency turns the answer into a 503 within seconds instead of hanging.
 */
const CHECK_TIMEOUT_MS = 2000;

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function timed(what, fn) {
  const started = performance.now();
  try {
    const details = await withTimeout(fn(), what);
    return { status: "up", latencyMs: Math.round(performance.now() - started), ...details };
  } catch (e) {
    return { status: "down", error: e.message };
  }
}

/** Checks Postgres (and reports the latest applied migration) and, when given, Redis. */
export async function healthReport({ pool, redis }) {
  const database = await timed("database", async () => {
    const { rows } = await pool.query(
      "SELECT (SELECT count(*)::int FROM migrations) AS applied, (SELECT max(name) FROM migrations) AS latest",
    );
    return { migrations: rows[0] };
  });
  const checks = { database };
  if (redis) checks.redis = await timed("redis", async () => ({ pong: await redis.ping() }));
  const ok = Object.values(checks).every((c) => c.status === "up");
  return { ok, body: { status: ok ? "ok" : "error", ...checks, uptime: Math.round(process.uptime() * 1000) / 1000 } };
}
