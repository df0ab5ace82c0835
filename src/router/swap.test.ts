import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ServiceRef } from "../engine/engine.ts";
import { Router } from "./router.ts";
import { buildRouteTable } from "./routes.ts";
import { freePort, get, startBackend, type TestBackend } from "./test-helpers.ts";

const ref: ServiceRef = { project: "p", environment: "prod", service: "web" };
let dir: string;
let router: Router;
let port: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-swap-"));
  port = await freePort();
  router = new Router({ stateDir: dir, bindHost: "127.0.0.1", httpPort: port, healthTimeoutMs: 10_000 });
  await router.start();
  await router.setRoutes(buildRouteTable([{ ref, kind: "web", domains: [], pathPrefixes: [], health: { path: "/health", intervalMs: 100 } }]));
});

after(async () => {
  await router?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("20 instance swaps under 50 keep-alive connections fail no request and never reload", { timeout: 60_000 }, async (t) => {
  const host = "web-prod-p.localhost";
  let current: TestBackend = await startBackend("v0");
  await router.trafficPort.add(ref, "v0", { host: "127.0.0.1", port: current.port });
  const generation = router.generation;

  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await get(port, host, "/", agent);
        if (r.status === 200) ok++;
        else failures.push(`HTTP ${r.status}`);
      } catch (e) {
        failures.push(String(e));
      }
    }
  };
  const load = Promise.all(Array.from({ length: 50 }, worker));

  for (let i = 1; i <= 20; i++) {
    const next = await startBackend(`v${i}`);
    await router.trafficPort.add(ref, `v${i}`, { host: "127.0.0.1", port: next.port });
    await router.trafficPort.remove(ref, `v${i - 1}`, { drainMs: 2_000 });
    await current.close();
    current = next;
  }
  stop = true;
  await load;
  agent.destroy();
  await current.close();

  t.diagnostic(`${ok} requests served during 20 swaps, ${failures.length} failed`);
  assert.deepEqual(failures.slice(0, 5), []);
  assert.ok(ok > 100, `only ${ok} requests completed`);
  assert.equal(router.generation, generation, "no reload during swaps");
});
