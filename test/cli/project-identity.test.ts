/**
 * One directory, one stack, through the compiled CLI: an imported render.yaml names the project
 * after Render's own `projects[].name` (not after ".", which gave every project the name `app`),
 * else after the folder's real name; and a second folder whose blueprint has the same name is
 * refused with a catalogued error instead of silently replacing the first folder's services.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run, type CliRun, freePort, scratch, stopScratchDaemon } from "../helpers/cli.ts";

const RENDER_NAMED = `projects:
  - name: Acme Billing
    environments:
      - name: production
        services:
          - type: worker
            name: invoicer
            runtime: node
            startCommand: node worker.js
`;
/** Render files without a project name, as most are: only services. */
const RENDER_PLAIN = (service: string) => `services:
  - type: worker
    name: ${service}
    runtime: node
    startCommand: node worker.js
`;
const WORKER = 'setInterval(() => {}, 1000); console.log("worker up");\n';

describe("project identity: one directory, one stack", () => {
  const s = scratch("berth-identity-");
  let port = 0;
  const berth = (args: string[], cwd: string): Promise<CliRun> => run(args, { scratch: s, cwd, env: { BERTH_HTTP_PORT: String(port) } });
  /** A folder holding a render.yaml and the worker it starts. */
  const folder = (path: string, render: string) => {
    const dir = join(s.dir, path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "render.yaml"), render);
    writeFileSync(join(dir, "worker.js"), WORKER);
    return dir;
  };
  const projectIn = (dir: string) => /^project: (.+)$/m.exec(readFileSync(join(dir, "berth.yaml"), "utf8"))?.[1];

  before(async () => {
    port = await freePort();
  });
  after(async () => {
    for (const d of ["one/app", "two/app"]) await berth(["down"], join(s.dir, d)).catch(() => undefined);
    await stopScratchDaemon(s);
  });

  test("import from inside the folder takes Render's project name; from outside, the same", async () => {
    const dir = folder("app", RENDER_NAMED);
    const r = await berth(["import", "render.yaml", "-o", "berth.yaml"], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(projectIn(dir), "acme-billing");
    const outside = await berth(["import", "app/render.yaml"], s.dir);
    assert.match(outside.stdout, /^project: acme-billing$/m);
    assert.match((await berth(["import", "render.yaml", "--project", "mine"], dir)).stdout, /^project: mine$/m);
  });

  test("without a name in the file, the folder's real name (never `app` for `.`)", async () => {
    const dir = folder("Billing_Service", RENDER_PLAIN("api"));
    const r = await berth(["import", "render.yaml", "-o", "berth.yaml"], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(projectIn(dir), "billing-service");
  });

  test("a second folder whose blueprint has the same project name is refused; --force moves the project", async () => {
    // Two apps in folders both called `app`, imported the same way: both are project `app`.
    const one = folder("one/app", RENDER_PLAIN("mailer"));
    const two = folder("two/app", RENDER_PLAIN("resizer"));
    for (const dir of [one, two]) assert.equal((await berth(["import", "render.yaml", "-o", "berth.yaml"], dir)).status, 0);
    assert.equal(projectIn(one), "app");
    const first = await berth(["up", "--detach"], one);
    assert.equal(first.status, 0, `${first.stdout}\n${first.stderr}`);

    const second = await berth(["up", "--detach"], two);
    assert.equal(second.status, 5, `${second.stdout}\n${second.stderr}`);
    assert.equal(second.stderr.split("\n")[0], `error: project 'app' is deployed from ${one}, not from ${two} [BERTH_PROJECT_DIR_CONFLICT]`);
    assert.match(second.stderr, /hint: .*its own `project:` name.*--force/);
    // The first folder's stack is untouched: same service, same generation, still live.
    const st = JSON.parse((await berth(["status", "--json"], one)).stdout) as { environments: { status: string; generation: number; services: { name: string }[] }[] };
    assert.deepEqual(st.environments.map((e) => [e.status, e.generation, e.services.map((x) => x.name)]), [["live", 1, ["mailer"]]]);

    const forced = await berth(["up", "--detach", "--force"], two);
    assert.equal(forced.status, 0, `${forced.stdout}\n${forced.stderr}`);
    const moved = JSON.parse((await berth(["status", "--json"], two)).stdout) as { environments: { services: { name: string }[] }[] };
    assert.deepEqual(moved.environments[0]!.services.map((x) => x.name), ["resizer"]);
    // The first folder's link still names `app`, which now lives in the second folder: its
    // `down` stops nothing of it.
    const stale = await berth(["down"], one);
    assert.equal(stale.status, 5, `${stale.stdout}\n${stale.stderr}`);
    assert.match(stale.stderr, /BERTH_PROJECT_DIR_CONFLICT/);
    const still = JSON.parse((await berth(["status", "--json"], two)).stdout) as { environments: { status: string }[] };
    assert.equal(still.environments[0]!.status, "live");
    assert.equal((await berth(["down"], two)).status, 0);
  });
});
