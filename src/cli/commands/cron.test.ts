/**
 * `berth cron list|run|runs` (the compiled CLI) as a separate process against a real daemon (memory engine) that
 * has two environments with a cron job of the same name, so job names must be resolved.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run } from "../../../test/helpers/cli.ts";
import { MemoryEngine } from "../../engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../../../test/helpers/daemon.ts";

/** The compiled CLI with this file's daemon in its environment. */
const berth = (args: string[], env: Record<string, string>) => run(args, { env });

const BLUEPRINT = `version: 1
project: shop
services:
  report:
    type: cron
    command: node report.js
    schedule: "0 6 * * *"
  purge:
    type: cron
    command: node purge.js
    schedule: "@hourly"
    concurrency: allow
    maxConcurrent: 3
environments:
  production: {}
  staging: {}
`;

describe("berth cron", () => {
  let t: TestDaemon;
  let env: Record<string, string>;
  before(async () => {
    // `purge` fails (exit 1), everything else succeeds.
    t = await startTestDaemon({
      listen: true,
      engine: ({ bus, openEnv }) => new MemoryEngine({ events: bus, openEnv, task: async (spec) => ({ exitCode: spec.command.includes("purge") ? 1 : 0 }) }),
    });
    env = { BERTH_URL: t.daemon.url, BERTH_TOKEN: t.token };
    const dir = writeProject(join(tempDir(), "shop"), BLUEPRINT, { "report.js": "", "purge.js": "" });
    for (const environment of ["production", "staging"]) {
      const r = await t.request("POST", "/v1/sync", { environment, blueprint: BLUEPRINT, sourceDir: dir });
      assert.equal(r.status, 202, JSON.stringify(r.json));
    }
    await t.daemon.reconciler.whenIdle();
  });
  after(() => t.close());

  test("list shows every job with schedule, concurrency cap and next run; --project/--env narrow it", async () => {
    const all = await berth(["cron", "list"], env);
    assert.equal(all.status, 0, all.stderr);
    const lines = all.stdout.trim().split("\n");
    assert.match(lines[0]!, /^JOB\s+SCHEDULE\s+CONCURRENCY\s+NEXT RUN\s+LAST RUN$/);
    assert.equal(lines.length, 5);
    assert.match(all.stdout, /shop\/production\/purge\s+@hourly UTC\s+allow, max 3\s+\d{4}-/);
    assert.match(all.stdout, /shop\/staging\/report\s+0 6 \* \* \* UTC\s+forbid\s+/);
    const narrowed = await berth(["cron", "list", "--project", "shop", "--env", "staging", "--json"], env);
    assert.equal(narrowed.status, 0, narrowed.stderr);
    assert.deepEqual(
      JSON.parse(narrowed.stdout).map((j: { name: string }) => j.name),
      ["shop/staging/purge", "shop/staging/report"],
    );
  });

  test("run triggers a manual run, and runs lists it", async () => {
    const run = await berth(["cron", "run", "report", "--env", "staging", "--json"], env);
    assert.equal(run.status, 0, run.stderr);
    const triggered = JSON.parse(run.stdout) as { id: string; trigger: string; job: string };
    assert.equal(triggered.trigger, "manual");
    assert.equal(triggered.job, "shop/staging/report");
    await t.daemon.cron.settled();
    const runs = await berth(["cron", "runs", "shop/staging/report", "--json"], env);
    assert.equal(runs.status, 0, runs.stderr);
    const rows = JSON.parse(runs.stdout) as { id: string; trigger: string }[];
    assert.equal(rows[0]?.id, triggered.id);
    assert.equal(rows[0]?.trigger, "manual");
    const human = await berth(["cron", "runs", "report", "--project", "shop", "--env", "staging"], env);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^RUN\s+TRIGGER\s+ATTEMPT\s+STATUS/);
    assert.match(human.stdout, new RegExp(`${triggered.id}\\s+manual\\s+1\\s+`));
    const text = await berth(["cron", "run", "shop/production/purge"], env);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^triggered shop\/production\/purge: run \S+ \(manual\)/);
  });

  test("run --wait waits for the outcome and exits 1 unless the run succeeded", async () => {
    const ok = await berth(["cron", "run", "shop/staging/report", "--wait", "--json"], env);
    assert.equal(ok.status, 0, ok.stderr);
    const run = JSON.parse(ok.stdout) as { status: string; trigger: string; exitCode: number };
    assert.deepEqual([run.status, run.trigger, run.exitCode], ["succeeded", "manual", 0]);
    const failed = await berth(["cron", "run", "purge", "--project", "shop", "--env", "staging", "--wait"], env);
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.stdout, /^shop\/staging\/purge: failed \(exit 1\) after \S+, attempt 1: exit code 1$/m);
  });

  test("clear errors: ambiguous name, unknown job, malformed name, bad flag, viewer token", async () => {
    const ambiguous = await berth(["cron", "run", "report"], env);
    assert.equal(ambiguous.status, 2);
    assert.match(ambiguous.stderr, /ambiguous: shop\/production\/report, shop\/staging\/report/);
    const unknown = await berth(["cron", "runs", "nope", "--project", "shop"], env);
    assert.equal(unknown.status, 4);
    assert.match(unknown.stderr, /cron job 'shop\/\*\/nope' not found \[BERTH_CRON_JOB_NOT_FOUND\]/);
    assert.match(unknown.stderr, /hint: .*berth cron list/);
    const malformed = await berth(["cron", "runs", "shop/report"], env);
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /not a job name/);
    const badFlag = await berth(["cron", "list", "--jsn"], env);
    assert.equal(badFlag.status, 2);
    assert.match(badFlag.stderr, /--json/);
    const badLimit = await berth(["cron", "runs", "shop/staging/report", "--limit", "x"], env);
    assert.equal(badLimit.status, 2);
    const viewer = t.daemon.store.tokens.create({ name: "viewer", role: "viewer" }, new Date().toISOString()).token;
    const denied = await berth(["cron", "run", "shop/staging/report", "--json"], { ...env, BERTH_TOKEN: viewer });
    assert.equal(denied.status, 3);
    assert.equal(JSON.parse(denied.stderr).error.code, "BERTH_FORBIDDEN");
  });
});
