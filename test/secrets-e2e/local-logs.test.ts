/**
 * The canary on the local engine: a real process prints its whole environment, and its log
 * file on disk (and every other file of the data dir) holds the canary 0 times — the engine
 * masks each line before writing it (`EngineDeps.redact`).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const CANARY = `canary-${Date.now().toString(36)}-local-9d2e4f`;
const BLUEPRINT = `version: 1
project: loglocal
services:
  printer:
    type: worker
    build: "true"
    start: node printer.js
    env:
      CANARY: { secret: true }
`;
const PRINTER = `console.log("env " + JSON.stringify(process.env));
console.error("CANARY=" + process.env.CANARY);
console.log("done printing");
setInterval(() => {}, 1000);
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    return st?.isDirectory() ? filesUnder(p) : st?.isFile() ? [p] : [];
  });
}

describe("instance log files on the local engine", () => {
  let t: TestDaemon | undefined;
  const dataDir = tempDir();
  after(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a process printing its env leaves 0 copies of the canary on disk", async () => {
    t = await startTestDaemon({
      dataDir,
      engine: ({ bus, openEnv, redact }) => new LocalEngine({ stateDir: join(dataDir, "engine"), events: bus, openEnv, redact, sandbox: false, portRange: { first: 34_100, last: 34_199 } }),
    });
    const dir = writeProject(join(tempDir(), "loglocal"), BLUEPRINT, { "printer.js": PRINTER });
    assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint: BLUEPRINT, sourceDir: dir })).status, 202);
    await t.daemon.reconciler.whenIdle();
    assert.equal((await t.request("PUT", "/v1/projects/loglocal/environments/production/secrets", { owner: "service:printer", values: { CANARY } })).status, 200);
    await t.daemon.reconciler.whenIdle();
    const logDir = join(dataDir, "engine", "logs");
    const deadline = Date.now() + 20_000;
    let text = "";
    while (Date.now() < deadline && !text.includes("done printing")) {
      text = filesUnder(logDir).map((p) => readFileSync(p, "utf8")).join("");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, /done printing/, "the process ran and its output reached the log file");
    assert.match(text, /CANARY=\[redacted:CANARY\]/);
    t.daemon.store.db.sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const hits = filesUnder(dataDir).filter((p) => readFileSync(p).includes(Buffer.from(CANARY)));
    assert.deepEqual(hits, []);
  });
});
