/**
 * Acceptance (issue 16): seed 000's stack under a paced load of inserts and API reads, with the
 * resync running every 2 s: `berth db restore --to T` 20 times at random past instants, started
 * at random offsets against the resync, some right after a drill or a backup. Every time: the CLI
 * exits 0 once the services moved; the API (through the router) answers from the restored data
 * within one health interval (1 s); the rows are exactly those committed up to T; and no
 * BERTH_INTERNAL (nor "tuple concurrently updated") appears anywhere.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { marksAt, type Stack, sleep, startStack, until, Writer } from "./stack.ts";

const ROUNDS = Number(process.env.BERTH_FAULT_ROUNDS ?? 20);
const RESYNC_MS = 2000;
const HEALTH_INTERVAL_MS = 1000;

describe("db restore --to T under load, racing the resync", () => {
  let stack: Stack;
  let writer: Writer;
  let reads = 0;
  let readFailures = 0;
  let reading = true;
  let reader: Promise<void>;
  let known = "";

  before(async () => {
    stack = await startStack({ resyncIntervalMs: RESYNC_MS });
    const st = (await stack.get("api-backend", "/health")).status;
    assert.equal(st, 200, "the stack is live");
    writer = new Writer(50);
    await writer.follow(await stack.dbUrl());
    known = JSON.parse((await stack.post("api-backend", "/trips", { shareUrl: "https://maps.example/trip/zurich-to-bern" })).body).id;
    // API reads all along: a known trip, through HAProxy.
    reader = (async () => {
      while (reading) {
        const r = await stack.get("api-backend", `/trips/${known}`).catch(() => ({ status: 0, body: "" }));
        reads++;
        if (r.status !== 200) readFailures++;
        await sleep(100);
      }
    })();
    await stack.berth(["db", "backup"]);
  });

  after(async () => {
    reading = false;
    await reader;
    await writer?.stop();
    await stack?.close();
  });

  test(`${ROUNDS} restores to random instants: exact rows, the API on the restored data, no internal error`, async () => {
    const figures: { round: number; before: string; restoreMs: number; replayMs: number; apiMs: number; rows: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Trips on both sides of T, through the API; T a random past instant between them.
      const a = JSON.parse((await stack.post("api-backend", "/trips", { shareUrl: `https://maps.example/trip/a-${round}` })).body).id as string;
      await sleep(100 + Math.random() * 400);
      const t = await writer.now();
      await sleep(100 + Math.random() * 400);
      const b = JSON.parse((await stack.post("api-backend", "/trips", { shareUrl: `https://maps.example/trip/b-${round}` })).body).id as string;
      const expected = await writer.upTo(t);
      const before = round % 5 === 1 ? "drill" : round % 5 === 2 ? "backup" : "resync";
      if (before === "drill") assert.equal((await stack.berth(["db", "drill"])).status, 0);
      else if (before === "backup") assert.equal((await stack.berth(["db", "backup"])).status, 0);
      else await sleep(Math.random() * RESYNC_MS); // a random offset against the resync
      const r = await stack.berth(["db", "restore", "db", "--to", t]);
      assert.equal(r.status, 0, `round ${round}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /BERTH_INTERNAL|concurrently/);
      const done = Date.now();
      // The API answers from the restored data: trip a is there, trip b (after T) is not.
      await until(
        async () => ((await stack.get("api-backend", `/trips/${a}`)).status === 200 && (await stack.get("api-backend", `/trips/${b}`)).status === 404 ? true : undefined),
        `round ${round}: the API to answer from the restored data`,
        HEALTH_INTERVAL_MS,
        20,
      );
      const apiMs = Date.now() - done;
      const url = await stack.dbUrl();
      assert.deepEqual(await marksAt(url), expected, `round ${round}: exactly the rows committed up to ${t}`);
      await writer.follow(url);
      // The CLI's total is the restore itself (`promoted (rst-..., port N, X ms)`) plus the services' roll.
      const replayMs = Number(/promoted \(rst-[0-9a-z]+, port \d+, (\d+) ms\)/.exec(r.stderr)?.[1] ?? -1);
      figures.push({ round, before, restoreMs: r.ms, replayMs, apiMs, rows: expected.length });
    }
    const bad = stack.events().filter((e) => /BERTH_INTERNAL|tuple concurrently updated/.test(JSON.stringify(e.data)));
    assert.deepEqual(bad, [], "no internal error anywhere in the event log");
    await until(async () => (stack.daemon.store.environments.require(stack.project, stack.env).status === "live" ? true : undefined), "the environment to be live again", 30_000);
    const sorted = figures.map((f) => f.restoreMs).sort((x, y) => x - y);
    console.log(JSON.stringify(figures));
    const replay = figures.map((f) => f.replayMs).sort((x, y) => x - y);
    console.log(`${ROUNDS} restores: CLI median ${sorted[Math.floor(sorted.length / 2)]} ms (restore + promote median ${replay[Math.floor(replay.length / 2)]} ms, the rest is the services' rolling restart), max ${sorted.at(-1)} ms; API on restored data after at most ${Math.max(...figures.map((f) => f.apiMs))} ms; ${reads} API reads, ${readFailures} failed; ${writer.written} rows written`);
  });
});
