/**
 * Issue 18, acceptance: killing a service repeatedly fires a crash-loop alert to a local webhook
 * receiver (HMAC-signed) within 60 s, an SMTP receiver gets the email, a PagerDuty-shaped
 * receiver gets the trigger; once the service stays up the alert resolves, and PagerDuty gets the
 * resolve with the same dedup key. Real daemon, real local engine (processes).
 *
 * The channels' credentials (HMAC key, routing key, SMTP password) come from the secret store:
 * the receivers get the stored values, a reference whose value is unset refuses the sync, and no
 * value appears in events, API output or the store's files.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
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

/** The stored credentials: none of them may show up anywhere but at its receiver. */
const STORED = { HOOK_SECRET: "whsec-0b5e7c1d-hmac-key", PD_ROUTING_KEY: "R0UTING-4f2a9e-stored", SMTP_PASSWORD: "smtp-pa55-7d3c1b-stored" };

test("a crash loop fires to webhook, email and PagerDuty within 60 s, and resolves once fixed", { timeout: 150_000 }, async () => {
  const channels = `alerts:
  channels:
    hook: { type: webhook, url: "${hook.url}/alerts", secret: { fromGroup: alerting.HOOK_SECRET } }
    pager: { type: pagerduty, routingKey: { fromGroup: alerting.PD_ROUTING_KEY }, url: "${pd.url}/v2/enqueue" }
    mail: { type: email, to: [ops@example.com], from: berth@example.com, smtp: { host: 127.0.0.1, port: ${smtp.port}, user: alerts, password: { fromGroup: { name: alerting, key: SMTP_PASSWORD } } } }
`;
  const blueprint = `version: 1
project: crashy
services:
  web:
    type: web
    start: node server.js
    health: { path: /, interval: 200ms }
envGroups:
  alerting:
    HOOK_SECRET: { secret: true }
    PD_ROUTING_KEY: { secret: true }
    SMTP_PASSWORD: { secret: true }
    SLACK_URL: { secret: true }
${channels}`;
  const dir = writeProject(join(tempDir(), "crashy"), blueprint, { "server.js": SERVER });
  // A new project has no secrets yet: the sync is recorded, and says what to set.
  const first = await t.request("POST", "/v1/sync", { environment: "production", blueprint, sourceDir: dir });
  assert.equal(first.status, 202);
  const warned = (first.json.warnings as { code: string; message: string }[]).filter((w) => w.code === "BERTH_ALERT_SECRET_MISSING").map((w) => w.message);
  assert.equal(warned.length, 3);
  assert.ok(warned.some((m) => /^alerts\.channels\.pager\.routingKey reads secret PD_ROUTING_KEY of env group 'alerting'/.test(m)), warned.join("\n"));
  const set = await t.request("PUT", "/v1/projects/crashy/environments/production/secrets", { owner: "group:alerting", values: STORED });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  assert.deepEqual(set.json.warnings, [], "declared in berth.yaml");
  await t.daemon.reconciler.whenIdle();

  // A reference whose value is not set refuses the sync: nothing recorded.
  const generation = (await t.request("GET", "/v1/projects/crashy/environments/production")).json.generation as number;
  const withSlack = `${blueprint}    slack: { type: slack, url: { fromGroup: alerting.SLACK_URL } }\n`;
  const refused = await t.request("POST", "/v1/sync", { environment: "production", blueprint: withSlack, sourceDir: dir });
  assert.equal(refused.status, 422);
  assert.equal(refused.json.error.code, "BERTH_ALERT_SECRET_MISSING");
  assert.match(refused.json.error.message, /^alerts\.channels\.slack\.url reads secret SLACK_URL of env group 'alerting', which has no value in environment 'production'$/);
  assert.match(refused.json.error.hint, /berth secret set --group alerting SLACK_URL=- --env production/);
  assert.equal((await t.request("GET", "/v1/projects/crashy/environments/production")).json.generation, generation);
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
  assert.equal(h["x-berth-signature"], `sha256=${createHmac("sha256", STORED.HOOK_SECRET).update(`${h["x-berth-timestamp"]}.${hook.received[0]!.body}`).digest("hex")}`);
  await eventually(() => pd.received.length >= 1 && smtp.mails.length >= 1, 15_000);
  const trigger = JSON.parse(pd.received[0]!.body) as { event_action: string; dedup_key: string; routing_key: string };
  assert.equal(trigger.event_action, "trigger");
  assert.equal(trigger.routing_key, STORED.PD_ROUTING_KEY);
  const mail = smtp.mails[0] as Mail;
  assert.deepEqual(mail.to, ["ops@example.com"]);
  assert.deepEqual(mail.auth, { user: "alerts", password: STORED.SMTP_PASSWORD });
  assert.match(mail.data, /Subject: \[CRITICAL\] crashy\/production\/web: An instance keeps crashing/);

  // Fixed: nobody kills it any more. It comes back healthy and stays so; the alert resolves.
  await eventually(() => pd.received.length >= 2, 90_000, 200);
  const resolve = JSON.parse(pd.received[1]!.body) as { event_action: string; dedup_key: string };
  assert.deepEqual([resolve.event_action, resolve.dedup_key], ["resolve", trigger.dedup_key]);
  await eventually(() => hook.received.some((r: Received) => r.body.includes('"state":"resolved"')) && smtp.mails.length >= 2, 10_000);
  const rows = t.daemon.observe.alerts.list({ project: "crashy" });
  assert.equal(rows.length, 1, "one alert, deduplicated");
  assert.equal(rows[0]!.state, "resolved");

  // Redaction: no stored value in events, API output, or (in plain text) the store's files.
  const outputs = [
    JSON.stringify((await t.request("GET", "/v1/events?project=crashy&limit=5000")).json),
    JSON.stringify((await t.request("GET", "/v1/alerts?project=crashy")).json),
    JSON.stringify((await t.request("GET", "/v1/projects/crashy/environments/production")).json),
    JSON.stringify((await t.request("GET", "/v1/projects/crashy/environments/production/secrets")).json),
  ];
  const files = ["berth.db", "berth.db-wal"].map((f) => join(t.dataDir, f)).filter(existsSync).map((f) => readFileSync(f).toString("latin1"));
  assert.ok(outputs[0]!.includes("alert:notified") && files.some((f) => f.includes("PD_ROUTING_KEY")), "the scans see events and the recorded blueprint");
  outputs.push(...files);
  for (const value of Object.values(STORED)) assert.ok(!outputs.some((o) => o.includes(value)), `${value.slice(0, 6)}... leaked`);
  process.stdout.write(`# kills: ${kills}, crash-loop alert at the webhook ${fireMs} ms after the first kill\n`);
});
