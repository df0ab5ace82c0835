import assert from "node:assert/strict";
import { test } from "node:test";
import { ArrivalOrder } from "./arrival-order.ts";

test("a later request on the same key waits for the earlier one; other keys do not", async () => {
  const order = new ArrivalOrder();
  const seen: string[] = [];
  const first = order.take("prod");
  const second = order.take("prod");
  const other = order.take("staging");
  const done = [
    second.ready.then(() => {
      seen.push("second");
      second.done();
    }),
    other.ready.then(() => {
      seen.push("other");
      other.done();
    }),
  ];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ["other"], "the second waits while the first has not finished");
  seen.push("first");
  first.done();
  await Promise.all(done);
  assert.deepEqual(seen, ["other", "first", "second"]);
});

test("a failed request (done without recording) releases the next one", async () => {
  const order = new ArrivalOrder();
  const a = order.take("k");
  const b = order.take("k");
  a.done();
  await b.ready;
  b.done();
  await order.take("k").ready; // nothing left in flight: ready at once
});
