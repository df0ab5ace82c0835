/**
 * "Failures show their cause", through the compiled CLI: `berth up` prints the last lines of the
 * step that failed (the build, a preDeploy command, the new instance behind a failed health
 * check), names the command that shows all of it, and that command shows the same lines.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { berth as run, type CliRun, freePort, scratch, stopScratchDaemon } from "../helpers/cli.ts";

const BLUEPRINT = `version: 1
project: fails
services:
  compiled:
    type: worker
    build: node build.js
    start: node -e "setInterval(() => {}, 1000)"
  migrated:
    type: worker
    start: node -e "setInterval(() => {}, 1000)"
    preDeploy: node migrate.js
  api:
    type: web
    start: node server.js
    health: { path: /, timeout: 5s }
`;

/** Noise first, so the tail has to be the last lines and not the first. */
const noisy = (lines: string, code: number) => `for (let i = 0; i < 30; i++) console.log("noise " + i);\n${lines}\nprocess.exit(${code});\n`;

describe("failed steps show their last lines", () => {
  const s = scratch("berth-failures-");
  const dir = join(s.dir, "fails");
  let port = 0;
  let up: CliRun;
  const berth = (args: string[]) => run(args, { scratch: s, cwd: dir, env: { BERTH_HTTP_PORT: String(port) } });
  /** The printed block of one service: its header line up to the "all of it" line. */
  const block = (out: string, service: string) => new RegExp(`${service}: last (\\d+) line\\(s\\) of ([^:]+):\\n((?:  \\| .*\\n)+)${service}: all of it: \`([^\`]+)\``).exec(out);

  before(async () => {
    port = await freePort();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "berth.yaml"), BLUEPRINT);
    writeFileSync(join(dir, "build.js"), noisy('console.error("src/index.ts(3,7): error TS2304: Cannot find name \'fooBar\'.");', 2));
    writeFileSync(join(dir, "migrate.js"), noisy('console.error("migration 0003 failed: relation \\"users\\" already exists");', 3));
    writeFileSync(join(dir, "server.js"), noisy('console.error("fatal: DATABASE_URL is not set");', 1));
    up = await berth(["up", "--detach"]);
  });
  after(async () => {
    await berth(["down"]).catch(() => undefined);
    await stopScratchDaemon(s);
  });

  test("up exits 1 and shows the last 20 lines of each failed step", () => {
    assert.equal(up.status, 1, `${up.stdout}\n${up.stderr}`);
    const cases = [
      ["compiled", "the build", "error TS2304: Cannot find name 'fooBar'", "berth logs compiled --build"],
      ["migrated", "the preDeploy command", 'migration 0003 failed: relation "users" already exists', "berth logs migrated --build"],
      ["api", "the new instance's log", "fatal: DATABASE_URL is not set", "berth logs api"],
    ] as const;
    for (const [service, what, cause, command] of cases) {
      const m = block(up.stderr, service);
      assert.ok(m, `no output block for ${service} in:\n${up.stderr}`);
      assert.equal(m[2], what);
      assert.equal(Number(m[1]), 20, `${service}: ${m[1]} lines`);
      const last = m[3]!.trimEnd().split("\n").at(-1)!;
      assert.ok(last.includes(cause), `${service}: the cause is the last line, not ${last}`);
      assert.equal(m[4], command);
    }
  });

  test("the commands it names show the same cause", async () => {
    for (const [service, cause] of [
      ["compiled", "Cannot find name 'fooBar'"],
      ["migrated", "migration 0003 failed"],
      ["api", "fatal: DATABASE_URL is not set"],
    ] as const) {
      const command = block(up.stderr, service)![4]!.split(" ").slice(1);
      const r = await berth(command);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.includes(cause), `${command.join(" ")}:\n${r.stdout}`);
    }
    // The default logs include the build output too.
    assert.match((await berth(["logs", "compiled"])).stdout, / build src\/index\.ts\(3,7\): error TS2304/);
  });
});
