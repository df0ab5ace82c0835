import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { defineOperation } from "../../core/operations.ts";
import { startTestDaemon, type TestDaemon } from "../../../test/helpers/daemon.ts";

/** A kind the test holds open until it says so. */
function holdable() {
  const waiting = new Set<() => void>();
  const handler = defineOperation({
    kind: "test-hold",
    params: z.object({ project: z.string(), label: z.string() }),
    resumable: false,
    scope: (p) => ({ key: `test:${p.project}`, project: p.project, environment: "production" }),
    async run(ctx) {
      ctx.progress("holding", ctx.params.label);
      await new Promise<void>((resolve, reject) => {
        waiting.add(resolve);
        ctx.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
      });
      return { label: ctx.params.label };
    },
  });
  return {
    handler,
    releaseAll: () => {
      for (const r of waiting) r();
      waiting.clear();
    },
  };
}

describe("the operations API", () => {
  let t: TestDaemon;
  const hold = holdable();
  let scopedToken = "";
  before(async () => {
    t = await startTestDaemon();
    t.daemon.operations.register(hold.handler);
    scopedToken = t.daemon.store.tokens.create({ name: "alpha-viewer", role: "viewer", projects: ["alpha"] }, new Date().toISOString()).token;
  });
  after(async () => {
    hold.releaseAll();
    await t.close();
  });

  test("an operation is listed and shown with its progress, and in /v1/status", async () => {
    const op = t.daemon.operations.enqueue("test-hold", { project: "alpha", label: "one" }, { actor: "tester" });
    const queued = t.daemon.operations.enqueue("test-hold", { project: "alpha", label: "two" }, { actor: "tester" });
    await new Promise((r) => setImmediate(r));
    const shown = await t.request("GET", `/v1/operations/${op.id}`);
    assert.equal(shown.status, 200, JSON.stringify(shown.json));
    assert.equal(shown.json.state, "running");
    assert.deepEqual([shown.json.progress.step, shown.json.progress.detail], ["holding", "one"]);
    assert.equal(shown.json.createdBy, "tester");
    const list = await t.request("GET", "/v1/operations?project=alpha&state=pending,running");
    assert.deepEqual(list.json.map((o: { id: string }) => o.id), [queued.id, op.id], "newest first");
    const status = await t.request("GET", "/v1/status");
    assert.deepEqual(status.json.operations.map((o: { id: string }) => o.id).sort(), [op.id, queued.id].sort());
    hold.releaseAll();
    await t.daemon.operations.wait(op.id);
    hold.releaseAll();
    const done = await t.daemon.operations.wait(queued.id);
    assert.deepEqual(done.result, { label: "two" });
  });

  test("a token scoped to another project sees none of them", async () => {
    const other = t.daemon.operations.enqueue("test-hold", { project: "beta", label: "b" }, { actor: "tester" });
    await new Promise((r) => setImmediate(r));
    const list = await t.request("GET", "/v1/operations", undefined, scopedToken);
    assert.equal(list.status, 200);
    assert.ok(list.json.length > 0);
    assert.ok(list.json.every((o: { project: string }) => o.project === "alpha"));
    const hidden = await t.request("GET", `/v1/operations/${other.id}`, undefined, scopedToken);
    assert.equal(hidden.status, 404);
    const forbidden = await t.request("GET", "/v1/operations?project=beta", undefined, scopedToken);
    assert.equal(forbidden.status, 403);
    const status = await t.request("GET", "/v1/status", undefined, scopedToken);
    assert.ok(!status.json.operations.some((o: { id: string }) => o.id === other.id));
    const cancel = await t.request("POST", `/v1/operations/${other.id}/cancel`, {}, scopedToken);
    assert.equal(cancel.status, 403, "a viewer cannot cancel");
    const res = await t.request("POST", `/v1/operations/${other.id}/cancel`, {});
    assert.equal(res.status, 202);
    const done = await t.daemon.operations.wait(other.id);
    assert.equal(done.state, "cancelled");
    assert.equal(done.error?.code, "BERTH_OPERATION_CANCELLED");
    const again = await t.request("POST", `/v1/operations/${other.id}/cancel`, {});
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, "BERTH_OPERATION_FINISHED");
  });

  test("a bad state filter is a clear 400", async () => {
    const r = await t.request("GET", "/v1/operations?state=done");
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /'done' is not one of/);
  });
});
