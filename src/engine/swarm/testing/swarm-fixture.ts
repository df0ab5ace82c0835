/**
 * The swarm engine's contract fixture: one test swarm (dockerd + registry, started on first use)
 * shared by every test of a file; a fresh engine with its own namespace per test.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../../core/errors.ts";
import { type ContractFixture, contractRedact, RecordedEvents } from "../../contract/contract-fixture.ts";
import type { Release, ServiceRef } from "../../engine.ts";
import { filters } from "../docker-api.ts";
import type { DockerTask } from "../instances.ts";
import { swarmServiceName } from "../service-spec.ts";
import { SwarmEngine, type SwarmEngineOptions } from "../swarm-engine.ts";
import { startTestSwarm, type TestSwarm } from "./test-swarm.ts";

/** Like the local engine's test app, but listening on every interface (the port is published from the task's namespace). */
export const SWARM_OK_APP = `
const http = require("node:http");
console.log("hello " + (process.env.PORT || "worker") + " " + (process.env.GREETING || ""));
process.on("SIGTERM", () => { console.log("bye"); process.exit(0); });
if (process.env.PORT) {
  http.createServer((req, res) => {
    if (req.url === "/health" && process.env.SICK) { res.statusCode = 500; res.end("sick"); return; }
    res.end("ok " + (process.env.GREETING || "") + " " + process.pid);
  }).listen(Number(process.env.PORT), "0.0.0.0");
} else setInterval(() => {}, 1 << 30);
`;

let swarm: Promise<TestSwarm> | undefined;

/** The file's shared swarm (started on first call). */
export function testSwarm(): Promise<TestSwarm> {
  swarm ??= startTestSwarm();
  return swarm;
}

export async function stopTestSwarm(): Promise<void> {
  if (swarm) await (await swarm).stop();
  swarm = undefined;
}

let seq = 0;

/** A release directory holding the test apps: the same bytes every time, so one image serves all. */
export function swarmRelease(root: string, ref: ServiceRef, number: number, env: Record<string, string>): Release {
  const dir = join(root, "app");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "app.cjs"), SWARM_OK_APP);
  writeFileSync(join(dir, "crash.cjs"), "console.error('boom'); process.exit(1);\n");
  seq++;
  return { id: `rel_${ref.service}_${number}_${seq}`, number, service: ref, artifact: { kind: "dir", path: dir, digest: "contract-app-v1" }, sealedEnv: JSON.stringify(env) };
}

export async function openTestEnv(release: Release): Promise<Record<string, string>> {
  if (release.sealedEnv === "BROKEN") throw new BerthError("BERTH_INTERNAL", { detail: "cannot decrypt the release env" });
  return JSON.parse(release.sealedEnv) as Record<string, string>;
}

/** Test-speed timings: fast polls, short drains and restart delays. */
export function testEngine(s: TestSwarm, namespace: string, events: RecordedEvents, extra: Partial<SwarmEngineOptions> = {}): SwarmEngine {
  return new SwarmEngine({
    docker: s.docker, registry: s.registry, namespace, events, openEnv: openTestEnv, redact: contractRedact,
    pollMs: 150, drainMs: 1200, restartDelayMs: 100, minHealthIntervalMs: 300, ...extra,
  });
}

let fixtures = 0;

export async function swarmFixture(): Promise<ContractFixture> {
  const s = await testSwarm();
  const namespace = `t${++fixtures}`;
  const events = new RecordedEvents();
  const engine = testEngine(s, namespace, events);
  await engine.start();
  return {
    engine,
    events,
    release: async (ref, number, greeting = "hi") => swarmRelease(s.dir, ref, number, { GREETING: greeting }),
    sealedRelease: async (ref, number) => ({ ...swarmRelease(s.dir, ref, number, {}), sealedEnv: "BROKEN" }),
    startCommand: (app) => (app === "ok" ? "exec node app.cjs" : "exec node crash.cjs"),
    taskCommand: (t) =>
      t.kind === "print-env"
        ? `exec node -e 'console.log(process.env[process.argv[1]])' ${t.name}`
        : t.kind === "exit"
          ? `exit ${t.code}`
          : "exec node -e 'setInterval(() => {}, 1000)'",
    kill: async (ref, id) => {
      const [, slot, gen] = id.split(".");
      const tasks = await s.docker.json<DockerTask[]>({ path: "/tasks", query: { filters: filters({ service: [swarmServiceName(namespace, ref)], "desired-state": ["running"] }) } });
      const t = tasks.find((x) => String(x.Slot) === slot && x.Spec.ContainerSpec?.Labels?.["berth.generation"] === gen && x.Status.ContainerStatus?.ContainerID);
      if (t) await s.docker.json({ method: "POST", path: `/containers/${t.Status.ContainerStatus!.ContainerID}/kill`, query: { signal: "KILL" } });
    },
    cleanup: () => engine.stop({ stopInstances: true }),
  };
}
