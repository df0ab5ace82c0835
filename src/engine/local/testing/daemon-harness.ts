/**
 * A daemon stand-in for the daemon-restart test: runs a LocalEngine in its own process so the
 * test can kill -9 it. Usage: `node daemon-harness.ts STATE_DIR RELEASE_ROOT [deploy]`.
 * With `deploy` it applies a 10-replica worker and a singleton; then prints one JSON line with
 * the instances and waits; "stop" on stdin stops every instance and exits.
 */
import { createInterface } from "node:readline";
import type { EventInput } from "../../../core/events.ts";
import { contractSpec, livenessGate } from "../../contract/contract-fixture.ts";
import { noTraffic, type ServiceRef } from "../../engine.ts";
import { LocalEngine } from "../local-engine.ts";
import { makeRelease, openTestEnv, startOf } from "./test-apps.ts";

const [stateDir, releaseRoot, mode] = process.argv.slice(2);
const events: EventInput[] = [];
const engine = new LocalEngine({ stateDir: stateDir!, events: { emit: (e) => void events.push(e as EventInput) }, openEnv: openTestEnv, portRange: { first: 33_000, last: 33_999 } });
await engine.start();
const env = { project: "harness", environment: "production" };
const workers: ServiceRef = { ...env, service: "workers" };
const single: ServiceRef = { ...env, service: "scheduler" };
const rollout = { policy: { kind: "start-first", maxSurge: 10 } as const, health: livenessGate, traffic: noTraffic };
if (mode === "deploy") {
  const rel = makeRelease(releaseRoot!, workers, 1);
  const relS = makeRelease(releaseRoot!, single, 1);
  for await (const e of engine.apply(contractSpec(workers, startOf("app.cjs"), { kind: "worker", listens: false, replicas: 10 }), rel, rollout, new AbortController().signal)) {
    if (e.step === "failed") throw new Error(e.detail);
  }
  for await (const e of engine.apply(contractSpec(single, startOf("app.cjs"), { kind: "worker", listens: false, singleton: true }), relS, rollout, new AbortController().signal)) {
    if (e.step === "failed") throw new Error(e.detail);
  }
}
const report = async (): Promise<void> => {
  const services = await engine.actual(env);
  const out = services.map((s) => ({ service: s.ref.service, instances: s.instances.map((i) => ({ id: i.id, pid: i.pid, state: i.state, restarts: i.restarts })) }));
  process.stdout.write(`${JSON.stringify({ services: out, events: events.map((e) => e.type) })}\n`);
};
await report();
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "report") await report();
  if (line === "stop") {
    await engine.stop({ stopInstances: true });
    process.stdout.write("stopped\n");
    process.exit(0);
  }
}
