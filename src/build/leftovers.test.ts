import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isUnfinished, sweepUnfinished } from "./leftovers.ts";

const root = mkdtempSync(join(tmpdir(), "berth-leftovers-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("unfinished work dirs are recognised by their staging suffix only", () => {
  assert.equal(isUnfinished("3f9a.tmp-0a1b2c3d"), true);
  assert.equal(isUnfinished("3f9a"), false);
  assert.equal(isUnfinished("notes.tmp"), false);
});

test("a killed daemon's half-written build dir and the build still running in it are removed; finished outputs stay", async () => {
  const artifacts = join(root, "artifacts");
  const work = join(artifacts, "abc.tmp-0123abcd");
  const done = join(artifacts, "abc");
  mkdirSync(join(work, "deep"), { recursive: true });
  mkdirSync(done, { recursive: true });
  // A build step in its own process group, as run-command.ts runs them: it outlives its daemon.
  const build = spawn("sleep", ["60"], { cwd: join(work, "deep"), detached: true, stdio: "ignore" });
  const bystander = spawn("sleep", ["60"], { cwd: root, detached: true, stdio: "ignore" });
  const buildExited = new Promise((r) => build.once("exit", r));
  try {
    const swept = await sweepUnfinished([artifacts, join(root, "missing")]);
    assert.deepEqual(swept.dirs, [work]);
    assert.deepEqual(swept.pids, [build.pid]);
    await buildExited;
    assert.equal(existsSync(work), false);
    assert.equal(existsSync(done), true);
    assert.equal(bystander.exitCode, null, "a process working elsewhere is left alone");
  } finally {
    bystander.kill("SIGKILL");
    build.kill("SIGKILL");
  }
});
