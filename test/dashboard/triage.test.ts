/** The overview's ordering (dashboard/src/triage.ts) with plain data: what is failing comes first, worst first. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openFailures, triage } from "../../dashboard/src/triage.ts";

const inst = (state: string, restarts = 0) => ({ id: `i-${state}`, state, release: 1, pid: 1, port: 1, restarts, startedAt: null });
const svc = (name: string, o: { kind?: string; failed?: boolean; instances?: ReturnType<typeof inst>[]; replicas?: number } = {}) => ({
  name,
  kind: o.kind ?? "web",
  replicas: o.replicas ?? 1,
  release: 1,
  failed: o.failed ?? false,
  urls: [],
  instances: o.instances ?? [inst("healthy")],
});
const env = (services: ReturnType<typeof svc>[]) => ({ project: "p", name: "production", status: "ready", statusDetail: null, servicesTotal: services.length, services });
const ev = (seq: number, type: string, resource: string, hoursAgo = 1) => ({ seq, at: new Date(Date.now() - hoursAgo * 3_600_000).toISOString(), type, scope: { project: "p", environment: "production" }, actor: "system", data: { resource, reason: "disk full" } });

test("crash loops, then failed deploys, firing alerts, failed backups and drills, then unhealthy services", () => {
  const problems = triage(
    [env([svc("ok"), svc("slow", { instances: [inst("starting")] }), svc("broken", { failed: true, instances: [] }), svc("loop", { instances: [inst("crash-looping", 5)] }), svc("job", { kind: "cron", instances: [] })])],
    [{ id: "a", rule: "error-rate", severity: "critical", state: "firing", project: "p", environment: "production", service: "ok", summary: "errors 9%", firedAt: null }],
    [ev(1, "drill:failed", "db"), ev(2, "backup:failed", "db")],
  );
  assert.deepEqual(
    problems.map((p) => `${p.kind}:${p.subject}`),
    ["crash-looping:loop", "deploy-failed:broken", "alert:ok", "backup-failed:db", "drill-failed:db", "unhealthy:slow"],
  );
});

test("an instance restarting while not healthy counts as a crash loop before the engine marks it", () => {
  const [p] = triage([env([svc("web", { instances: [inst("starting", 2)] })])], [], []);
  assert.equal(p?.kind, "crash-looping");
  assert.match(p!.detail, /2 restarts/);
});

test("a failure followed by a success of the same kind is closed; day-old failures are dropped", () => {
  const open = openFailures([ev(1, "backup:failed", "db"), ev(2, "backup:completed", "db"), ev(3, "drill:failed", "db"), ev(4, "backup:failed", "old", 30)], Date.now());
  assert.deepEqual(
    open.map((e) => e.type),
    ["drill:failed"],
  );
});
