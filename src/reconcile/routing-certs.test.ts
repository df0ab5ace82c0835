/**
 * Issue 19: a destroyed preview leaves no certificate behind. `removeEnvironmentCertificates`
 * deletes the stored certificates of the environment's generated hosts (and rewrites the
 * crt-list HAProxy reads), and nothing of another environment (`pr-17` is not `pr-7`).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Router } from "../router/router.ts";
import { openStore } from "../store/store.ts";
import { Routing } from "./routing.ts";

test("removeEnvironmentCertificates deletes exactly the certificates of the environment's hosts", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-routing-certs-"));
  const store = openStore(join(dir, "berth.db"));
  try {
    // Never started: no HAProxy runs, the certificates are only on disk.
    const router = new Router({ stateDir: join(dir, "router"), httpPort: 0, httpsPort: 0 });
    const routing = new Routing({ router, store, baseDomain: "example.com", httpPort: 80 });
    const names = ["api-pr-7-shop.example.com", "web-pr-7-shop.example.com", "api-pr-17-shop.example.com", "api-staging-shop.example.com", "api-pr-7-other.example.com", "_default"];
    for (const n of names) await router.certs.write(n, `pem of ${n}\n`);
    const removed = await routing.removeEnvironmentCertificates("shop", "pr-7");
    assert.deepEqual(removed.sort(), ["api-pr-7-shop.example.com", "web-pr-7-shop.example.com"]);
    assert.deepEqual(router.certs.names(), ["_default", "api-pr-17-shop.example.com", "api-pr-7-other.example.com", "api-staging-shop.example.com"]);
    const crtList = readFileSync(router.certs.crtListPath, "utf8");
    assert.doesNotMatch(crtList, /pr-7-shop/);
    assert.match(crtList, /api-pr-17-shop/);
    assert.deepEqual(await routing.removeEnvironmentCertificates("shop", "pr-7"), [], "a second call finds nothing");
  } finally {
    store.close();
  }
});
