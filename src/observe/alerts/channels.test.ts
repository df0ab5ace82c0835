import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { type AlertNotice, emailMessage, pagerDutyBody, webhookRequest } from "./channels.ts";

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
