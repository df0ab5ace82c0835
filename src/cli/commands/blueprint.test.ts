import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { berth as run } from "../../../test/helpers/cli.ts";

const example = fileURLToPath(new URL("../../../examples/reminders/berth.yaml", import.meta.url));

/** The compiled CLI in `cwd`; `code` is its exit status. */
async function berth(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await run(args, { cwd });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe("berth validate / import / schema", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-bp-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("validate: a valid example exits 0 with a summary", async () => {
    const r = await berth(["validate", example], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is valid: project reminders, 4 service\(s\), 1 database\(s\), 1 key-value store\(s\); environments: staging \(develop\), production \(main, approval\)/);
  });

  test("validate --env resolves an environment's overrides", async () => {
    const r = await berth(["validate", example, "--env", "production"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /environment production \(branch main\): api:webx1, worker:workerx4, scheduler:workerx1, web:webx1/);
    const bad = await berth(["validate", example, "--env", "qa"], dir);
    assert.equal(bad.code, 4);
    assert.match(bad.stderr, /environment 'qa' is not defined/);
  });

  test("validate: errors are listed with file:line:column and hints, exit code 2", async () => {
    await writeFile(join(dir, "berth.yaml"), "version: 1\nproject: p\nservices:\n  api:\n    type: web\n    strat: x\n");
    const r = await berth(["validate"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /berth\.yaml:6:5 {2}error: unknown field 'strat' in services\.api/);
    assert.match(r.stderr, /hint: Did you mean 'start'\?/);
    const j = await berth(["validate", "--json"], dir);
    assert.equal(j.code, 2);
    const parsed = JSON.parse(j.stdout) as { ok: boolean; errors: { line: number; column: number; code: string }[] };
    assert.equal(parsed.ok, false);
    assert.deepEqual([parsed.errors[0]?.line, parsed.errors[0]?.column, parsed.errors[0]?.code], [6, 5, "BERTH_BLUEPRINT_UNKNOWN_KEY"]);
  });

  test("validate: an alert channel credential written in the file is refused without being echoed; a secret reference passes", async () => {
    const head = "version: 1\nproject: p\nservices:\n  api: { type: web, start: node s.js }\nenvGroups:\n  alerting:\n    PD_ROUTING_KEY: { secret: true }\nalerts:\n  channels:\n";
    await writeFile(join(dir, "berth.yaml"), `${head}    pager: { type: pagerduty, routingKey: "R0UTING-in-the-file" }\n`);
    const r = await berth(["validate"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /berth\.yaml:10:43 {2}error: alerts\.channels\.pager\.routingKey: a credential may not be written in berth\.yaml/);
    assert.match(r.stderr, /hint: .*routingKey: \{ fromGroup: alerting\.PAGER_ROUTING_KEY \}.*berth secret set --group alerting PAGER_ROUTING_KEY=-/);
    assert.ok(!r.stderr.includes("R0UTING-in-the-file"));
    await writeFile(join(dir, "berth.yaml"), `${head}    pager: { type: pagerduty, routingKey: { fromGroup: alerting.PD_ROUTING_KEY } }\n`);
    const ok = await berth(["validate"], dir);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test("validate: a missing file exits 4", async () => {
    const r = await berth(["validate", "nope.yaml"], dir);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /no blueprint at nope\.yaml/);
  });

  test("import: writes a valid blueprint, refuses to overwrite without --force", async () => {
    await writeFile(join(dir, "render.yaml"), "services:\n  - type: web\n    name: api\n    runtime: node\n    startCommand: npm start\n");
    const r = await berth(["import", "render.yaml", "-o", "out.yaml", "--project", "demo"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /the blueprint validates/);
    assert.match(await readFile(join(dir, "out.yaml"), "utf8"), /project: demo/);
    const again = await berth(["import", "render.yaml", "-o", "out.yaml"], dir);
    assert.equal(again.code, 5);
    const v = await berth(["validate", "out.yaml"], dir);
    assert.equal(v.code, 0, v.stderr);
  });

  test("schema: prints the JSON Schema", async () => {
    const r = await berth(["schema"], dir);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { $id: string; properties: Record<string, unknown> };
    assert.ok(s.properties.services && s.$id.includes("blueprint"));
  });
});
