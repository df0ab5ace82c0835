/**
 * A router in its own process, for the adoption test: it starts a Router on a state dir, routes
 * one service to the given backend port, prints `ready <masterPid>` and waits to be killed
 * (SIGKILL, as a crashed daemon would be).
 *
 * argv: <stateDir> <httpPort> <backendPort>
 */
import { Router } from "../router.ts";
import { buildRouteTable } from "../routes.ts";

const [stateDir, httpPort, backendPort] = process.argv.slice(2);
const ref = { project: "shop", environment: "prod", service: "web" };
const router = new Router({ stateDir: stateDir!, bindHost: "127.0.0.1", httpPort: Number(httpPort), healthTimeoutMs: 10_000 });
await router.start();
await router.setRoutes(buildRouteTable([{ ref, kind: "web", domains: ["shop.example.com"], pathPrefixes: [], health: { path: "/health", intervalMs: 200 } }]));
await router.trafficPort.add(ref, "web-1", { host: "127.0.0.1", port: Number(backendPort) });
process.stdout.write(`ready ${router.haproxyPids.master}\n`);
setInterval(() => {}, 60_000);
