import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openDb } from "../store/db.ts";
import { EnvironmentRepository } from "../store/repositories/environments.ts";
import { ProjectRepository } from "../store/repositories/projects.ts";
import { ReleaseRepository } from "../store/repositories/releases.ts";
import { ServiceRepository } from "../store/repositories/services.ts";
import { resolveCronJob } from "./job.ts";
import { storeTaskResolver } from "./resolve-task.ts";
import { fixtureTarget } from "./testing/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-cron-resolve-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a job resolves to its service's spec and desired release, or fails with BERTH_CRON_TASK_UNAVAILABLE", async () => {
  const db = openDb(join(dir, "berth.db"));
  const now = new Date().toISOString();
  const ref = { project: "trips", environment: "production", service: "parse-trip" };
  const job = resolveCronJob({ ref, schedule: "@hourly", command: "parse-trip --share" });
  const resolve = storeTaskResolver(db);
  await assert.rejects(resolve(job), { code: "BERTH_CRON_TASK_UNAVAILABLE", message: /environment does not exist/ });

  const project = new ProjectRepository(db).upsert("trips", { kind: "dir", path: dir }, now);
  const env = new EnvironmentRepository(db).record(project.id, "production", {}, now);
  const spec = fixtureTarget(ref, dir).service;
  const services = new ServiceRepository(db);
  services.replaceAll(env.id, [{ spec, inputs: {}, inputsDigest: "d1" }], now);
  const [service] = services.list(env.id);
  await assert.rejects(resolve(job), { code: "BERTH_CRON_TASK_UNAVAILABLE", message: /no release yet/ });

  const release = new ReleaseRepository(db).create(service!.id, { kind: "dir", path: dir, digest: "x" }, {}, "sealed", now);
  new ServiceRepository(db).setDesiredRelease(service!.id, release.id, now);
  const target = await resolve(job);
  assert.deepEqual(target.service, spec);
  assert.deepEqual([target.release.id, target.release.number, target.release.sealedEnv], [release.id, release.number, "sealed"]);
  assert.deepEqual(target.release.service, ref);
  db.close();
});
