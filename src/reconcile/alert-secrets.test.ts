import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBlueprint, resolveEnvironment } from "../blueprint/index.ts";
import { BerthError } from "../core/errors.ts";
import { checkAlertSecrets, storedKey } from "./alert-secrets.ts";

const text = `version: 1
project: demo
services:
  api: { type: web, start: node s.js }
envGroups:
  alerting:
    PD_KEY: { secret: true }
    HOOK_SECRET: { secret: true }
alerts:
  channels:
    pager: { type: pagerduty, routingKey: { fromGroup: alerting.PD_KEY } }
    hook: { type: webhook, url: "https://example.com/h", secret: { fromGroup: alerting.HOOK_SECRET } }
`;
const parsed = parseBlueprint(text, { file: "berth.yaml" });
assert.ok(parsed.ok);
const bp = resolveEnvironment(parsed.blueprint, "production");
const request = { environment: "production", file: "berth.yaml", blueprintText: text };

test("a missing alert secret refuses the sync, naming the field path, the secret and the command that sets it", () => {
  const stored = new Set([storedKey("group:alerting", "HOOK_SECRET"), storedKey("service:api", "PD_KEY")]);
  assert.throws(
    () => checkAlertSecrets(bp, stored, request),
    (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, "BERTH_ALERT_SECRET_MISSING");
      assert.equal(e.status, 422);
      assert.equal(e.message, "alerts.channels.pager.routingKey reads secret PD_KEY of env group 'alerting', which has no value in environment 'production'");
      assert.match(e.hint, /^Set it with `berth secret set --group alerting PD_KEY=- --env production` .*Nothing was recorded/);
      assert.deepEqual(e.details, [{ field: "alerts.channels.pager.routingKey", group: "alerting", name: "PD_KEY", environment: "production" }]);
      return true;
    },
  );
  assert.throws(() => checkAlertSecrets(bp, new Set(), request), /routingKey .* \(and 1 more, listed in details\)$/);
});

test("every value set (for the environment or `*`, the caller's set holds both): nothing to say", () => {
  assert.deepEqual(checkAlertSecrets(bp, new Set([storedKey("group:alerting", "HOOK_SECRET"), storedKey("group:alerting", "PD_KEY")]), request), []);
});

test("a new project cannot hold secrets yet: the same words come back as located warnings", () => {
  const warnings = checkAlertSecrets(bp, undefined, request);
  assert.deepEqual(
    warnings.map((w) => [w.code, w.line, w.path.join(".")]),
    [
      ["BERTH_ALERT_SECRET_MISSING", 11, "alerts.channels.pager.routingKey"],
      ["BERTH_ALERT_SECRET_MISSING", 12, "alerts.channels.hook.secret"],
    ],
  );
  assert.match(warnings[0]!.hint, /berth secret set --group alerting PD_KEY=- --env production.*The project is new/);
});

test("a log drain header whose secret is missing refuses the sync the same way, located at the header", () => {
  const drainText = `version: 1
project: demo
services:
  api: { type: web, start: node s.js }
envGroups:
  logging:
    LOGTAIL_TOKEN: { secret: true }
logDrains:
  - { type: http, url: "https://in.logs.example.com", headers: { Authorization: { fromGroup: logging.LOGTAIL_TOKEN } } }
`;
  const p = parseBlueprint(drainText, { file: "berth.yaml" });
  assert.ok(p.ok, p.ok ? "" : p.errors.map((e) => e.message).join("\n"));
  const drained = resolveEnvironment(p.blueprint, "production");
  const req = { environment: "production", file: "berth.yaml", blueprintText: drainText };
  assert.throws(
    () => checkAlertSecrets(drained, new Set(), req),
    (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, "BERTH_ALERT_SECRET_MISSING");
      assert.equal(e.message, "logDrains[0].headers.Authorization reads secret LOGTAIL_TOKEN of env group 'logging', which has no value in environment 'production'");
      assert.match(e.hint, /^Set it with `berth secret set --group logging LOGTAIL_TOKEN=- --env production` /);
      return true;
    },
  );
  assert.deepEqual(checkAlertSecrets(drained, new Set([storedKey("group:logging", "LOGTAIL_TOKEN")]), req), []);
  assert.deepEqual(checkAlertSecrets(drained, undefined, req).map((w) => [w.code, w.line, w.path.join(".")]), [["BERTH_ALERT_SECRET_MISSING", 9, "logDrains.0.headers.Authorization"]]);
});
