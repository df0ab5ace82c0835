/**
 * A real Berth daemon in its own process, for fault tests that kill it with SIGKILL: the local
 * engine (unsandboxed, so the test can read the instances' environments), the HTTP health gate,
 * the router on the given port. Prints one JSON line {url, token, pid} once it listens.
 *
 * argv: <dataDir> <apiPort> <routerHttpPort>
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../../src/core/config.ts";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startDaemon } from "../../src/server.ts";

const [dataDir, apiPort, httpPort] = process.argv.slice(2);
if (!dataDir || !apiPort || !httpPort) throw new Error("usage: daemon-harness.ts <dataDir> <apiPort> <routerHttpPort>");
const config = resolveConfig({
  flags: { "data-dir": dataDir, listen: `127.0.0.1:${apiPort}`, engine: "local" },
  env: {
    BERTH_HTTP_PORT: httpPort,
    BERTH_HTTPS_PORT: "0",
    BERTH_ROUTER: "on",
    BERTH_BIND: "127.0.0.1",
    BERTH_RECONCILE_RETRY_MS: "200",
    BERTH_RESYNC_INTERVAL_MS: process.env.BERTH_RESYNC_INTERVAL_MS ?? "5000",
    ...(process.env.BERTH_KEK ? { BERTH_KEK: process.env.BERTH_KEK } : {}),
  },
  isRoot: process.getuid?.() === 0,
});
const daemon = await startDaemon(config, {
  engine: ({ bus, openEnv, redact }) => new LocalEngine({ stateDir: join(dataDir, "engine"), events: bus, openEnv, redact, sandbox: false }),
  health: httpHealthGate,
  print: () => {},
});
const token = daemon.store.tokens.create({ name: `fault-${process.pid}`, role: "owner" }, new Date().toISOString()).token;
writeFileSync(join(dataDir, "harness.json"), JSON.stringify({ url: daemon.url, token, pid: process.pid }));
process.stdout.write(`${JSON.stringify({ url: daemon.url, token, pid: process.pid })}\n`);
// SIGTERM is the test's cleanup: everything this data dir runs goes (a SIGKILL is the fault).
const stop = async () => {
  await daemon.stop({ stopInstances: true });
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
