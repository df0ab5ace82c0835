/**
 * A router whose start fails leaves nothing listening. Two daemons side by side once both
 * claimed :8443: the second one's start failed, but its ACME challenge responder stayed open and
 * kept the failed daemon's process alive (a test file then hung until the runner's timeout).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { BerthError } from "../core/errors.ts";
import { Router } from "./router.ts";
import { freePort } from "./test-helpers.ts";

test("a start refused for a taken HTTPS port stops its challenge responder and names the holder", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-start-failure-"));
  const holder = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => holder.once("listening", r));
  const taken = (holder.address() as { port: number }).port;
  try {
    const router = new Router({ stateDir: dir, bindHost: "127.0.0.1", httpPort: await freePort(), httpsPort: taken });
    await assert.rejects(router.start(), (e: BerthError) => {
      assert.equal(e.code, "BERTH_ROUTER_PORT_TAKEN");
      assert.match(e.message, new RegExp(`:${taken}`));
      return true;
    });
    const responder = router.challenges.endpoint;
    // Connecting is the check: a refused connection means nothing listens there any more.
    await assert.rejects(
      new Promise((resolve, reject) => {
        const c = connect(responder.port, responder.host);
        c.once("connect", () => resolve(c.destroy()));
        c.once("error", reject);
      }),
      /ECONNREFUSED/,
    );
  } finally {
    holder.close();
    await rm(dir, { recursive: true, force: true });
  }
});
