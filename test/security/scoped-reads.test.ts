/**
 * Issue 17, acceptance: every event, log and metric route and stream, enumerated from the route
 * table (a route added later is covered automatically), shows a project-scoped token nothing of
 * other projects and no global events. Project "s17bravo" leaves markers everywhere (its name, its
 * log lines, its deploy events); the scoped tokens belong to "s17alpha". Global events (auth
 * rejections with client addresses, token creations) are produced too and must not show.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { registeredRoutes } from "../../src/api/app.ts";
import type { MemoryEngine } from "../../src/engine/memory/memory-engine.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";

const blueprint = (project: string) => `version: 1
project: ${project}
services:
  web:
    type: web
    start: node server.js
  nightly:
    type: cron
    schedule: "0 3 * * *"
    command: node job.js
`;

/** Anything of bravo or of the daemon as a whole that a token scoped to alpha must never see. */
const FORBIDDEN = ["s17bravo", "auth:rejected", "token:created", "token:revoked", "daemon:started", "bravo-secret-log-line"];

/** Fills parameters: the project under test, names that exist in it. */
const concrete = (url: string, project: string) =>
  url
    .replace(/:project/g, project)
    .replace(/:environment/g, "production")
    .replace(/:service/g, "web")
    .replace(/:job/g, "nightly")
    .replace(/:name/g, "x")
    .replace(/:[a-zA-Z]+/g, "x");

describe("project-scoped tokens read only their projects", () => {
  let t: TestDaemon;
  const tokens: Record<string, string> = {};
  before(async () => {
    t = await startTestDaemon({ listen: true });
    for (const p of ["s17alpha", "s17bravo"]) {
      const dir = writeProject(join(tempDir(), p), blueprint(p), { "server.js": "", "job.js": "" });
      const r = await t.request("POST", "/v1/sync", { environment: "production", blueprint: blueprint(p), sourceDir: dir });
      assert.equal(r.status, 202, JSON.stringify(r.json));
    }
    await t.daemon.reconciler.whenIdle();
    const engine = t.daemon.engine as MemoryEngine;
    for (const p of ["s17alpha", "s17bravo"]) {
      const ref = { project: p, environment: "production", service: "web" };
      const svc = (await engine.actual({ project: p, environment: "production" })).find((x) => x.ref.service === "web");
      for (const i of svc!.instances) engine.writeLog(ref, i.id, `${p}-secret-log-line`);
    }
    // Issue 18: both projects have metrics (router requests) and a firing alert (a crash loop).
    for (const p of ["s17alpha", "s17bravo"]) {
      for (const status of [200, 500]) t.daemon.observe.onRequest({ backend: `svc.${p}.production.web`, status, totalMs: 12, instance: `${p}-web-1` });
      t.daemon.bus.emit({ type: "instance:crash-looping", scope: { project: p, environment: "production", service: "web" }, actor: "system", data: { instance: `${p}-web-1`, failures: 5, windowMs: 600_000 } });
    }
    assert.ok(t.daemon.observe.alerts.list({ project: "s17bravo" }).some((a) => a.state === "firing"), "bravo has a firing alert");
    const now = new Date().toISOString();
    for (const role of ["viewer", "deployer", "owner"] as const) tokens[role] = t.daemon.store.tokens.create({ name: `alpha-${role}`, role, projects: ["s17alpha"] }, now).token;
    // Global events: a rejected token (with the client's address) and a token creation.
    await t.request("GET", "/v1/status", undefined, "berth_wrong");
    assert.equal((await t.request("POST", "/v1/tokens", { name: "s17bravo-ci", role: "deployer", projects: ["s17bravo"] })).status, 201);
    // Sanity: the unscoped owner does see bravo and the global events.
    const all = JSON.stringify((await t.request("GET", "/v1/events?limit=5000")).json);
    for (const m of ["s17bravo", "auth:rejected", "token:created", "bravo-secret"]) if (m !== "bravo-secret") assert.ok(all.includes(m), `owner should see ${m}`);
  });
  after(() => t.close());

  const readRoutes = () => registeredRoutes.get(t.daemon.api)!.filter((r) => !r.public && r.method === "GET");

  test("every GET route: alpha's resources hold nothing of bravo or the daemon; bravo's are refused", async () => {
    const routes = readRoutes();
    assert.ok(routes.length >= 20, `only ${routes.length} read routes`);
    let checked = 0;
    for (const [role, token] of Object.entries(tokens)) {
      for (const r of routes) {
        for (const query of ["", r.url.startsWith("/v1/events") || r.url === "/v1/cron/jobs" || r.url === "/v1/alerts" ? "?project=s17bravo" : ""]) {
          const url = concrete(r.url, "s17alpha") + query + (query ? "&" : "?") + "limit=5000";
          const res = await fetch(`${t.daemon.url}${url.replace("?&", "?")}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(1500) })
            .then(async (x) => ({ status: x.status, body: await x.text() }))
            .catch((e: Error) => ({ status: 0, body: e.name === "TimeoutError" ? "" : e.message }));
          for (const m of FORBIDDEN) assert.ok(!res.body.includes(m), `${role} GET ${url} -> ${res.status} shows '${m}': ${res.body.slice(0, 300)}`);
          checked++;
        }
        if (r.url.includes(":project")) {
          const res = await t.request("GET", concrete(r.url, "s17bravo"), undefined, token);
          assert.equal(res.status, 403, `${role} GET ${concrete(r.url, "s17bravo")} -> ${res.status}`);
        }
      }
    }
    assert.ok(checked >= 60, `only ${checked} requests`);
    // Issue 18: alpha's own metrics and alerts do show (the routes are not merely empty).
    const prom = await fetch(`${t.daemon.url}/metrics`, { headers: { authorization: `Bearer ${tokens.viewer}` } }).then((x) => x.text());
    assert.ok(prom.includes('project="s17alpha"') && !prom.includes("s17bravo"), prom.slice(0, 300));
    const alerts = (await t.request("GET", "/v1/alerts", undefined, tokens.viewer)).json as { project: string }[];
    assert.ok(alerts.length > 0 && alerts.every((a) => a.project === "s17alpha"), JSON.stringify(alerts));
  });

  test("the event stream and the log stream, followed live, show only alpha", async () => {
    const read = async (url: string, token: string, during: () => Promise<void>): Promise<string> => {
      const abort = new AbortController();
      const headersBy = setTimeout(() => abort.abort(), 10_000);
      const res = await fetch(`${t.daemon.url}${url}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
      clearTimeout(headersBy);
      assert.equal(res.status, 200, url);
      let text = "";
      const reader = res.body!.getReader();
      const pump = (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            text += new TextDecoder().decode(value);
          }
        } catch {
          // aborted
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      await during();
      await new Promise((r) => setTimeout(r, 500));
      abort.abort();
      await pump;
      return text;
    };
    const engine = t.daemon.engine as MemoryEngine;
    const liveActivity = async () => {
      for (const p of ["s17alpha", "s17bravo"]) {
        const ref = { project: p, environment: "production", service: "web" };
        const svc = (await engine.actual({ project: p, environment: "production" })).find((x) => x.ref.service === "web");
        for (const i of svc!.instances) engine.writeLog(ref, i.id, `${p}-secret-log-line live`);
        // A project-scoped event of each project, live.
        t.daemon.bus.emit({ type: "engine:warning", scope: { project: p, environment: "production" }, data: { message: `${p} live warning` } });
      }
      await t.request("GET", "/v1/status", undefined, "berth_wrong-again");
      await t.request("POST", "/v1/tokens", { name: `bravo-live-${Date.now()}`, role: "viewer", projects: ["s17bravo"] });
    };
    for (const [role, token] of Object.entries(tokens)) {
      const events = await read("/v1/events/stream?after=0", token, liveActivity);
      assert.ok(events.includes("s17alpha live warning"), `${role}: the stream shows alpha's live events`);
      for (const m of FORBIDDEN) assert.ok(!events.includes(m), `${role}: event stream shows '${m}'`);
      const logs = await read("/v1/projects/s17alpha/environments/production/services/web/logs?follow=true", token, liveActivity);
      assert.ok(logs.includes("s17alpha-secret-log-line live"), `${role}: alpha's live log line arrives: ${logs.slice(-500)}`);
      for (const m of FORBIDDEN) assert.ok(!logs.includes(m), `${role}: log stream shows '${m}'`);
      const other = await fetch(`${t.daemon.url}/v1/projects/s17bravo/environments/production/services/web/logs?follow=true`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(other.status, 403, `${role}: bravo's log stream`);
      await other.body?.cancel();
    }
  });

  test("every stored event carries its project, except the daemon's own", () => {
    const events = t.daemon.store.events.list({ limit: 5000 });
    const projectless = new Set(events.filter((e) => !e.scope.project).map((e) => e.type));
    const global = new Set(["auth:rejected", "token:created", "token:revoked", "daemon:started", "daemon:stopping", "router:reloaded", "router:started", "engine:warning", "network:policy-applied", "network:policy-failed", "secrets:kek-created", "secrets:kek-rotated", "secrets:self-test"]);
    for (const type of projectless) assert.ok(global.has(type), `event ${type} has no project`);
    assert.ok(!events.some((e) => e.scope.environment && !e.scope.project), "an event with an environment but no project");
  });

  test("a scoped owner cannot mint an unscoped token, nor see or revoke bravo's", async () => {
    const mint = await t.request("POST", "/v1/tokens", { name: "escalate", role: "owner", projects: [] }, tokens.owner);
    assert.equal(mint.status, 403);
    const list = await t.request("GET", "/v1/tokens", undefined, tokens.owner);
    assert.ok(!JSON.stringify(list.json).includes("s17bravo"));
    assert.equal((await t.request("DELETE", "/v1/tokens/s17bravo-ci", undefined, tokens.owner)).status, 404);
    assert.equal((await t.request("POST", "/v1/tokens", { name: "alpha-ci2", role: "viewer", projects: ["s17alpha"] }, tokens.owner)).status, 201);
  });
});
