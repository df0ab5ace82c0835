/**
 * Issue 21 acceptance: the dashboard in Debian's Chromium against a real daemon started by the
 * compiled CLI (`berth up --detach`, local engine) running a small stack: a web service, a
 * service the test makes crash-loop (a flag file on its persistent disk), a cron job and a
 * Postgres database. Logs in with a token; sees the crash loop on the overview within 10 s;
 * redeploys from the browser and watches the steps arrive; runs the cron job and sees its run;
 * a viewer is offered no restore and the API refuses it anyway; every page passes axe-core with
 * no serious or critical violation and is photographed at desktop and phone widths.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { berth, type Scratch, scratch, stopScratchDaemon } from "../helpers/cli.ts";
import { assertAccessible, DESKTOP, launchChromium, screenshots } from "./browser.ts";

const BLUEPRINT = `version: 1
project: dash
services:
  web:
    type: web
    start: node web.js
    health: { path: /health }
  flaky:
    type: web
    start: node flaky.js
    health: { path: /health }
    disks:
      - { name: state, mountPath: /state }
  tick:
    type: cron
    command: node tick.js
    schedule: "0 3 * * *"
databases:
  db: { postgres: 15 }
environments:
  production: {}
`;
const WEB = `require("node:http").createServer((q, s) => { if (q.url !== "/health") console.log("request", q.url); s.end(q.url === "/health" ? "ok" : "web"); }).listen(process.env.PORT);\n`;
// Crashes once /state/crash exists: at start (a restart), or within 200 ms while running.
const FLAKY = `const fs = require("node:fs");
const crash = () => { if (fs.existsSync("/state/crash")) { console.error("crash flag set: exiting"); process.exit(1); } };
crash();
setInterval(crash, 200);
require("node:http").createServer((q, s) => s.end(q.url === "/health" ? "ok" : "flaky")).listen(process.env.PORT);
`;
const TICK = `console.log("tick at", new Date().toISOString());\n`;

describe("dashboard in Chromium against bin/berth", { timeout: 600_000 }, () => {
  let s: Scratch;
  let app: string;
  let url: string;
  let ownerToken: string;
  let viewerToken: string;
  let browser: Browser;
  let owner: BrowserContext;
  let page: Page;
  const up = (args: string[]) => berth(args, { scratch: s, cwd: app, env: { BERTH_ROUTER: "off", BERTH_ENV: "production" } });
  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, json: (await res.json().catch(() => null)) as any };
  };
  const goto = async (p: Page, hash: string) => {
    await p.goto(`${url}/dashboard/${hash}`);
    await p.locator("main h1").first().waitFor();
  };
  const login = async (p: Page, token: string) => {
    await p.goto(`${url}/dashboard/`);
    await p.getByLabel("API token").fill(token);
    await p.getByRole("button", { name: "Log in" }).click();
    await p.getByRole("button", { name: "Log out" }).waitFor();
  };

  before(async () => {
    s = scratch("berth-dash-");
    app = join(s.dir, "dash");
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, "berth.yaml"), BLUEPRINT);
    writeFileSync(join(app, "web.js"), WEB);
    writeFileSync(join(app, "flaky.js"), FLAKY);
    writeFileSync(join(app, "tick.js"), TICK);
    const r = await up(["up", "--detach"]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    ({ url, token: ownerToken } = JSON.parse(readFileSync(join(s.dataDir, "daemon.json"), "utf8")) as { url: string; token: string });
    const v = await api("POST", "/v1/tokens", ownerToken, { name: "dash-viewer", role: "viewer" });
    assert.equal(v.status, 201);
    viewerToken = v.json.token;
    browser = await launchChromium();
    // bypassCSP: only so axe-core can be injected; the dashboard itself runs under the daemon's CSP.
    owner = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });
    page = await owner.newPage();
  });
  after(async () => {
    await browser?.close();
    await up(["down"]).catch(() => undefined);
    await stopScratchDaemon(s);
  });

  test("login with a token: the session is an HttpOnly, SameSite=Strict cookie and the token is not kept", async () => {
    await page.goto(`${url}/dashboard/`);
    await assertAccessible(page, "login");
    await screenshots(page, "login");
    await login(page, ownerToken);
    await page.getByText(/\(owner\)/).waitFor();
    const cookies = await owner.cookies();
    const session = cookies.find((c) => c.name === "berth_session");
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
    assert.notEqual(session.value, ownerToken);
    assert.equal(await page.evaluate("document.cookie"), "", "scripts see no cookie");
  });

  test("the overview shows a service made to crash-loop within 10 s, failing things first", async () => {
    await goto(page, "#/");
    await page.getByRole("heading", { name: "Environments" }).waitFor();
    const status = (await api("GET", "/v1/projects/dash/environments/production", ownerToken)).json;
    assert.ok(status.services.find((x: { name: string }) => x.name === "flaky").instances.some((i: { state: string }) => i.state === "healthy"), JSON.stringify(status));
    // The flag goes onto the service's persistent disk, as the host sees it.
    const disk = join(s.dataDir, "engine", "disks", "dash", "production", "flaky", "state");
    const found = await findDir(s.dataDir, /disks\/dash\/production\/flaky\/state$/);
    writeFileSync(join(found ?? disk, "crash"), "1");
    const t0 = Date.now();
    const problem = page.locator('li.problem[data-kind="crash-looping"]', { hasText: "dash/production/flaky" });
    await problem.waitFor({ timeout: 10_000 });
    const seenMs = Date.now() - t0;
    assert.ok(seenMs < 10_000, `seen after ${seenMs} ms`);
    console.log(`# overview showed the crash loop ${seenMs} ms after the flag was set`);
    // Failing things come before the list of environments.
    const order = await page.locator("main h2").allTextContents();
    assert.match(order[0] ?? "", /^Needs attention/);
    await assertAccessible(page, "overview");
    await screenshots(page, "overview");
  });

  test("a redeploy started from the browser streams its steps into the page until it is live", async () => {
    await goto(page, "#/svc/dash/production/web");
    const before = (await api("GET", "/v1/projects/dash/environments/production/deploys?service=web", ownerToken)).json as { release: number }[];
    const next = (before[0]?.release ?? 0) + 1;
    await page.getByRole("button", { name: "Redeploy" }).click();
    await page.getByRole("status").filter({ hasText: `Redeploy requested: release ${next}` }).waitFor();
    // Snapshots of the newest deploy as the page shows it, without any reload.
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      // One evaluate: a snapshot of a single render (separate locator calls could straddle two).
      const snap = (await page.evaluate(`(() => { const d = document.querySelector("li.deploy"); return d ? d.dataset.status + ":" + d.querySelectorAll("tr.step:not(.running)").length + ":" + (/Release (\\d+)/.exec(d.querySelector("summary").textContent) || [])[1] : "none"; })()`)) as string;
      if (seen.at(-1) !== snap) seen.push(snap);
      if (snap.startsWith("live:") && snap.endsWith(`:${next}`)) break;
      assert.ok(Date.now() < deadline, `no live deploy of release ${next}: ${seen.join(" -> ")}`);
      await page.waitForTimeout(50);
    }
    console.log(`# deploy as the page showed it: ${seen.join(" -> ")}`);
    const steps = await page.locator("li.deploy").first().locator("tr.step td:first-child").allTextContents();
    assert.ok(steps.length >= 3, `steps: ${steps.join(", ")}`);
    const timings = await page.locator("li.deploy").first().locator("tr.step td:nth-child(2)").allTextContents();
    assert.ok(timings.every((t) => /\d+(\.\d+)? (ms|s)$/.test(t)), `timings: ${timings.join(", ")}`);
    // The page showed the deploy while it ran (from the event stream, no reload), not only its end.
    assert.ok(
      seen.some((x) => x.startsWith("running:") && x.endsWith(`:${next}`)),
      `the running deploy was on the page: ${seen.join(" -> ")}`,
    );
    await assertAccessible(page, "service");
    await screenshots(page, "service");
  });

  test("logs follow live: a request to the service shows up in the page", async () => {
    await goto(page, "#/svc/dash/production/web");
    await page.getByRole("button", { name: "Follow live" }).click();
    await page.getByRole("log").waitFor();
    const env = (await api("GET", "/v1/projects/dash/environments/production", ownerToken)).json;
    const port = env.services.find((x: { name: string }) => x.name === "web").instances.find((i: { state: string }) => i.state === "healthy").port;
    const marker = `/from-the-test-${Date.now()}`;
    assert.equal((await fetch(`http://127.0.0.1:${port}${marker}`)).status, 200);
    await page.getByRole("log").filter({ hasText: marker }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Stop following" }).click();
  });

  test("a cron job run from the browser appears in its run history", async () => {
    await goto(page, "#/cron/dash/production");
    await page.getByRole("button", { name: "Run tick now" }).click();
    const run = page.locator('article[data-job="tick"] tr.run[data-status="succeeded"]');
    await run.first().waitFor({ timeout: 60_000 });
    assert.match((await run.first().textContent()) ?? "", /manual/);
    await assertAccessible(page, "cron");
    await screenshots(page, "cron");
  });

  test("environment and databases pages: the owner is offered the restore form, which says what will happen", async () => {
    await goto(page, "#/env/dash/production");
    await page.getByRole("heading", { name: "Services" }).waitFor();
    await assertAccessible(page, "environment");
    await screenshots(page, "environment");
    await goto(page, "#/db/dash/production");
    await page.getByRole("button", { name: "Restore db" }).waitFor();
    assert.match((await page.locator(".explain").textContent()) ?? "", /promoted: services that use db roll onto it/);
    await assertAccessible(page, "databases");
    await screenshots(page, "databases");
  });

  test("access (owners): a token created and revoked from the browser, and both in the audit log", async () => {
    await goto(page, "#/access");
    await page.getByLabel("Name").fill("ci-from-browser");
    await page.getByLabel("Role").selectOption("deployer");
    await page.getByRole("button", { name: "Create token" }).click();
    const shown = await page.getByRole("status").filter({ hasText: "ci-from-browser" }).locator("code").textContent();
    assert.match(shown ?? "", /^berth_/);
    assert.equal((await api("GET", "/v1/whoami", shown!)).json.role, "deployer", "the token shown works");
    await page.getByRole("button", { name: "Revoke ci-from-browser" }).click();
    await page.getByRole("row", { name: /ci-from-browser.*revoked/ }).waitFor();
    assert.equal((await api("GET", "/v1/whoami", shown!)).status, 401);
    await page.reload();
    await page.locator("tr.audit", { hasText: "DELETE /v1/tokens/:name" }).first().waitFor();
    assert.ok(await page.locator("tr.audit", { hasText: "POST /v1/tokens" }).count());
    await assertAccessible(page, "access");
    await screenshots(page, "access");
  });

  test("secrets: set from the browser, listed with who set it, the value never shown", async () => {
    await goto(page, "#/env/dash/production");
    await page.getByRole("link", { name: "Secrets" }).click();
    await page.getByRole("heading", { name: "Set a secret" }).waitFor();
    await page.getByLabel("For").selectOption("service:web");
    await page.getByLabel("Name").fill("DASH_TEST_KEY");
    const value = `value-${Date.now()}-not-to-be-shown`;
    await page.getByLabel("Value (write-only)").fill(value);
    await page.getByRole("button", { name: "Save secret" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const row = page.locator("tr.secret", { hasText: "DASH_TEST_KEY" });
    await row.waitFor();
    const who = (await api("GET", "/v1/whoami", ownerToken)).json.name as string;
    assert.match((await row.textContent()) ?? "", new RegExp(`service:web.*production.*set.*${who}`));
    assert.ok(!(await page.content()).includes(value), "the value is nowhere in the page");
    await assertAccessible(page, "secrets");
    await screenshots(page, "secrets");
  });

  test("a viewer is not offered restore, redeploy or run-now, and the API refuses a restore anyway", async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP, bypassCSP: true });
    const p = await ctx.newPage();
    await login(p, viewerToken);
    await p.getByText(/\(viewer\)/).waitFor();
    await goto(p, "#/db/dash/production");
    await p.locator('article[data-db="db"]').waitFor();
    assert.equal(await p.getByRole("button", { name: /Restore/ }).count(), 0);
    assert.equal(await p.getByRole("button", { name: /Back up/ }).count(), 0);
    await goto(p, "#/svc/dash/production/web");
    await p.getByRole("heading", { name: "Instances" }).waitFor();
    assert.equal(await p.getByRole("button", { name: "Redeploy" }).count(), 0);
    await goto(p, "#/cron/dash/production");
    await p.locator('article[data-job="tick"]').waitFor();
    assert.equal(await p.getByRole("button", { name: /Run .* now/ }).count(), 0);
    assert.equal(await p.getByRole("link", { name: "Access" }).count(), 0);
    await goto(p, "#/env/dash/production");
    await p.getByRole("heading", { name: "Services" }).waitFor();
    assert.equal(await p.getByRole("link", { name: "Secrets" }).count(), 0);
    // The same call the owner's button makes, from the viewer's session: refused.
    const refused = await p.evaluate(async () => {
      const r = await fetch("/v1/projects/dash/environments/production/databases/db/restores", { method: "POST", headers: { "x-berth-csrf": "1", "content-type": "application/json" }, body: JSON.stringify({ to: "latest" }) });
      return { status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code };
    });
    assert.deepEqual(refused, { status: 403, code: "BERTH_FORBIDDEN" });
    const bearer = await api("POST", "/v1/projects/dash/environments/production/databases/db/restores", viewerToken, { to: "latest" });
    assert.equal(bearer.status, 403);
    await screenshots(p, "databases-viewer");
    await ctx.close();
  });
});

/** The first directory under `root` whose path matches (the engine's state dir layout is its own business). */
async function findDir(root: string, pattern: RegExp): Promise<string | undefined> {
  const { readdirSync } = await import("node:fs");
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const full = join(dir, e.name);
      if (pattern.test(full)) return full;
      if (!["node_modules", "pg", "postgres"].includes(e.name)) stack.push(full);
    }
  }
  return undefined;
}
