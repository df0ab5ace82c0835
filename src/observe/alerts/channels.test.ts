import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { test } from "node:test";
import { BerthError } from "../../core/errors.ts";
import { type AlertNotice, emailMessage, pagerDutyBody, resolveChannel, send, webhookRequest } from "./channels.ts";

const a: AlertNotice = { id: "alert_1", dedupKey: "p/prod/api/crash-loop", rule: "crash-loop", severity: "critical", state: "firing", summary: "An instance keeps crashing", project: "p", environment: "prod", service: "api", value: null, startedAt: "2026-01-01T00:00:00.000Z", firedAt: "2026-01-01T00:00:00.000Z", resolvedAt: null };

test("the webhook body is signed: HMAC-SHA256 over timestamp.body", () => {
  const r = webhookRequest(a, "s3cret-key", 1_767_225_600_000);
  assert.equal(r.headers["x-berth-timestamp"], "1767225600");
  assert.equal(r.headers["x-berth-signature"], `sha256=${createHmac("sha256", "s3cret-key").update(`1767225600.${r.body}`).digest("hex")}`);
  assert.deepEqual(JSON.parse(r.body).alert.rule, "crash-loop");
  assert.equal(webhookRequest(a, undefined, 0).headers["x-berth-signature"], undefined);
});

test("PagerDuty Events v2: trigger with a payload, resolve with the same dedup key", () => {
  const t = pagerDutyBody(a, "rk") as Record<string, unknown>;
  assert.equal(t.event_action, "trigger");
  assert.equal(t.dedup_key, a.dedupKey);
  assert.equal((t.payload as { severity: string }).severity, "critical");
  assert.deepEqual(pagerDutyBody({ ...a, state: "resolved" }, "rk"), { routing_key: "rk", event_action: "resolve", dedup_key: a.dedupKey });
});

test("the email names the rule, the service and when", () => {
  const m = emailMessage({ ...a, state: "resolved", resolvedAt: "2026-01-01T00:05:00.000Z" });
  assert.match(m.subject, /^\[RESOLVED\] p\/prod\/api: An instance keeps crashing$/);
  assert.match(m.text, /Resolved: +2026-01-01T00:05:00.000Z/);
});

test("credentials are read from the store when sent; a missing one names the field, the secret and the command", () => {
  const ref = (key: string) => ({ kind: "fromGroup", name: "alerting", key }) as const;
  const stored: Record<string, string> = { "alerting/HOOK_SECRET": "hmac-key", "alerting/SMTP_PASSWORD": "pw" };
  const lookup = (group: string, key: string) => stored[`${group}/${key}`];
  assert.deepEqual(resolveChannel("hook", { type: "webhook", url: "https://example.com/h", secret: ref("HOOK_SECRET") }, "prod", lookup), { type: "webhook", url: "https://example.com/h", secret: "hmac-key" });
  assert.deepEqual(resolveChannel("mail", { type: "email", to: ["ops@example.com"], smtp: { host: "smtp", user: "u", password: ref("SMTP_PASSWORD") } }, "prod", lookup), {
    type: "email",
    to: ["ops@example.com"],
    smtp: { host: "smtp", user: "u", password: "pw" },
  });
  assert.throws(
    () => resolveChannel("pager", { type: "pagerduty", routingKey: ref("PD_KEY") }, "prod", lookup),
    (e: unknown) =>
      e instanceof BerthError &&
      e.code === "BERTH_ALERT_SECRET_MISSING" &&
      e.message === "alerts.channels.pager.routingKey reads secret PD_KEY of env group 'alerting', which has no value in environment 'prod'" &&
      e.hint.startsWith("Set it with `berth secret set --group alerting PD_KEY=- --env prod`"),
  );
});

test("a failed delivery names the host, never the URL (a Slack or Discord webhook URL is the credential)", async () => {
  const server = createServer((_q, s) => s.writeHead(500).end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const failure = (url: string) => send({ type: "slack", url }, a, AbortSignal.timeout(5000)).then(() => "sent", (e: Error) => e.message);
    assert.equal(await failure(`http://127.0.0.1:${port}/services/T0/B0/slack-token-xyz`), `127.0.0.1:${port} answered HTTP 500`);
    server.close();
    await new Promise((r) => setImmediate(r));
    assert.equal(await failure(`http://127.0.0.1:${port}/services/T0/B0/slack-token-xyz`), `127.0.0.1:${port}: ECONNREFUSED`);
    assert.equal(await failure("http://exa mple.com/slack-token-xyz"), "the channel's URL: ERR_INVALID_URL");
  } finally {
    server.close();
  }
});
