/**
 * Issue 18, acceptance: killing a service repeatedly fires a crash-loop alert to a local webhook
 * receiver (HMAC-signed) within 60 s, an SMTP receiver gets the email, a PagerDuty-shaped
 * receiver gets the trigger; once the service stays up the alert resolves, and PagerDuty gets the
 * resolve with the same dedup key. Real daemon, real local engine (processes).
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { httpHealthGate } from "../../src/deploy/health-gate.ts";
import { LocalEngine } from "../../src/engine/local/local-engine.ts";
import { eventually } from "../../src/router/test-helpers.ts";
import { startTestDaemon, type TestDaemon, tempDir, writeProject } from "../helpers/daemon.ts";
import { type Mail, type Received, startHttpReceiver, startSmtpReceiver } from "./receivers.ts";

const SERVER = `require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");`;

let t: TestDaemon;
let hook: Awaited<ReturnType<typeof startHttpReceiver>>;
let pd: Awaited<ReturnType<typeof startHttpReceiver>>;
let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;

before(async () => {
  hook = await startHttpReceiver();
  pd = await startHttpReceiver();
  smtp = await startSmtpReceiver();
  const stateDir = tempDir();
  t = await startTestDaemon({
    engine: ({ bus, openEnv }) => new LocalEngine({ stateDir, events: bus, openEnv, sandbox: false }),
    health: httpHealthGate,
    observe: { alertTickMs: 250 },
  });
});
after(async () => {
  await t?.close();
  await hook?.close();
  await pd?.close();
  await smtp?.close();
});

test("a crash loop fires to webhook, email and PagerDuty within 60 s, and resolves once fixed", { timeout: 150_000 }, async () => {
  const blueprint = `version: 1
project: crashy
services:
  web:
    type: web
    start: node server.js
    health: { path: /, interval: 200ms }
alerts:
  channels:
    hook: { type: webhook, url: "${hook.url}/alerts", secret: "webhook-secret-1" }
    pager: { type: pagerduty, routingKey: "R0UTING", url: "${pd.url}/v2/enqueue" }
    mail: { type: email, to: [ops@example.com], from: berth@example.com, smtp: { host: 127.0.0.1, port: ${smtp.port} } }
`;
  const dir = writeProject(join(tempDir(), "crashy"), blueprint, { "server.js": SERVER });
  assert.equal((await t.request("POST", "/v1/sync", { environment: "production", blueprint, sourceDir: dir })).status, 202);
  await t.daemon.reconciler.whenIdle();
  const instance = async () => (await t.daemon.engine.actual({ project: "crashy", environment: "production" }))[0]?.instances[0];
  await eventually(async () => (await instance())?.state === "healthy", 30_000, 100);

  const firstKill = Date.now();
  let kills = 0;
  while (!hook.received.some((r) => r.body.includes('"state":"firing"'))) {
    assert.ok(Date.now() - firstKill < 60_000, "no crash-loop alert within 60 s");
    const i = await instance();
    if (i?.pid && i.state === "healthy") {
      process.kill(i.pid, "SIGKILL");
      kills++;
      await eventually(async () => (await instance())?.pid !== i.pid || (await instance())?.state !== "healthy", 10_000, 20);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const fireMs = Date.now() - firstKill;
  const firing = JSON.parse(hook.received[0]!.body) as { alert: { rule: string; state: string; project: string; service: string } };
  assert.deepEqual([firing.alert.rule, firing.alert.state, firing.alert.project, firing.alert.service], ["crash-loop", "firing", "crashy", "web"]);
  const h = hook.received[0]!.headers;
  assert.equal(h["x-berth-signature"], `sha256=${createHmac("sha256", "webhook-secret-1").update(`${h["x-berth-timestamp"]}.${hook.received[0]!.body}`).digest("hex")}`);
  await eventually(() => pd.received.length >= 1 && smtp.mails.length >= 1, 15_000);
  const trigger = JSON.parse(pd.received[0]!.body) as { event_action: string; dedup_key: string; routing_key: string };
  assert.equal(trigger.event_action, "trigger");
  assert.equal(trigger.routing_key, "R0UTING");
  const mail = smtp.mails[0] as Mail;
  assert.deepEqual(mail.to, ["ops@example.com"]);
  assert.match(mail.data, /Subject: \[CRITICAL\] crashy\/production\/web: An instance keeps crashing/);

  // Fixed: nobody kills it any more. It comes back healthy and stays so; the alert resolves.
  await eventually(() => pd.received.length >= 2, 90_000, 200);
  const resolve = JSON.parse(pd.received[1]!.body) as { event_action: string; dedup_key: string };
  assert.deepEqual([resolve.event_action, resolve.dedup_key], ["resolve", trigger.dedup_key]);
  await eventually(() => hook.received.some((r: Received) => r.body.includes('"state":"resolved"')) && smtp.mails.length >= 2, 10_000);
  const rows = t.daemon.observe.alerts.list({ project: "crashy" });
  assert.equal(rows.length, 1, "one alert, deduplicated");
  assert.equal(rows[0]!.state, "resolved");
  process.stdout.write(`# kills: ${kills}, crash-loop alert at the webhook ${fireMs} ms after the first kill\n`);
});
