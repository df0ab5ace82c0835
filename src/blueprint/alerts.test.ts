/**
 * Alert channel credentials (issue 18) are secret references: a literal is refused without being
 * repeated, a reference must name a `{ secret: true }` variable of a declared env group, and the
 * normalized blueprint carries only the reference.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { alertSecretRefs } from "./alerts.ts";
import { parseBlueprint } from "./index.ts";

const blueprint = (channel: string, groups = "    PD_KEY: { secret: true }\n    PLAIN: not-a-secret\n") =>
  `version: 1\nproject: demo\nservices:\n  api: { type: web, start: node s.js }\nenvGroups:\n  alerting:\n${groups}alerts:\n  channels:\n    ${channel}\n`;

const errorsOf = (yaml: string) => {
  const r = parseBlueprint(yaml, { file: "berth.yaml" });
  assert.equal(r.ok, false, "expected errors");
  return r.ok ? [] : r.errors;
};

test("a literal credential is refused, naming the field and the command, never repeating the value", () => {
  const literals: [string, string, string][] = [
    ['pager: { type: pagerduty, routingKey: "R0UTING-KEY-LITERAL" }', "alerts.channels.pager.routingKey", "PAGER_ROUTING_KEY"],
    ['hook: { type: webhook, url: "https://example.com/h", secret: "hmac-key-literal" }', "alerts.channels.hook.secret", "HOOK_SECRET"],
    ['team: { type: slack, url: "https://hooks.slack.com/services/T0/B0/slack-token-literal" }', "alerts.channels.team.url", "TEAM_URL"],
    ['ops: { type: discord, url: "https://discord.com/api/webhooks/1/discord-token-literal" }', "alerts.channels.ops.url", "OPS_URL"],
    ["mail: { type: email, to: [ops@example.com], smtp: { host: smtp.example.com, user: u, password: smtp-pass-literal } }", "alerts.channels.mail.smtp.password", "MAIL_PASSWORD"],
  ];
  for (const [channel, field, key] of literals) {
    const [e, ...rest] = errorsOf(blueprint(channel));
    assert.deepEqual(rest, [], channel);
    assert.equal(e!.code, "BERTH_BLUEPRINT_LITERAL_SECRET");
    assert.equal(e!.line, 11);
    assert.ok(e!.message.startsWith(`${field}: a credential may not be written in berth.yaml`), e!.message);
    assert.ok(e!.hint.includes(`{ fromGroup: alerting.${key} }`) && e!.hint.includes(`berth secret set --group alerting ${key}=-`), e!.hint);
    assert.ok(!/literal/.test(`${e!.message} ${e!.hint}`), "the value is not repeated");
  }
});

test("a reference is normalized to the group and variable; the webhook URL may stay a literal", () => {
  const r = parseBlueprint(
    blueprint("hook: { type: webhook, url: \"https://example.com/h\", secret: { fromGroup: { name: alerting, key: PD_KEY } } }\n    pager: { type: pagerduty, routingKey: { fromGroup: alerting.PD_KEY } }"),
    { file: "berth.yaml" },
  );
  assert.ok(r.ok, r.ok ? "" : r.errors.map((e) => e.message).join("\n"));
  const ref = { kind: "fromGroup", name: "alerting", key: "PD_KEY" };
  assert.deepEqual(r.blueprint.alerts?.channels, { hook: { type: "webhook", url: "https://example.com/h", secret: ref }, pager: { type: "pagerduty", routingKey: ref } });
  assert.deepEqual(
    alertSecretRefs(r.blueprint.alerts).map((x) => x.field),
    ["alerts.channels.hook.secret", "alerts.channels.pager.routingKey"],
  );
});

test("a reference must name a declared group, a declared variable, and a secret one", () => {
  const unknownGroup = errorsOf(blueprint("pager: { type: pagerduty, routingKey: { fromGroup: alertin.PD_KEY } }"));
  assert.equal(unknownGroup[0]!.code, "BERTH_BLUEPRINT_UNKNOWN_REFERENCE");
  assert.match(unknownGroup[0]!.message, /alerts\.channels\.pager\.routingKey refers to env group 'alertin'/);
  assert.match(unknownGroup[0]!.hint, /Did you mean 'alerting'\?/);
  const unknownKey = errorsOf(blueprint("pager: { type: pagerduty, routingKey: { fromGroup: alerting.PD_KY } }"));
  assert.match(unknownKey[0]!.hint, /PD_KY: \{ secret: true \}.*Did you mean 'PD_KEY'\?/);
  const plain = errorsOf(blueprint("pager: { type: pagerduty, routingKey: { fromGroup: alerting.PLAIN } }"));
  assert.equal(plain[0]!.code, "BERTH_BLUEPRINT_LITERAL_SECRET");
  assert.match(plain[0]!.message, /alerts\.channels\.pager\.routingKey: it reads env group variable alerting\.PLAIN, whose value is written in berth\.yaml/);
  assert.ok(!plain[0]!.message.includes("not-a-secret"));
  const noKey = errorsOf(blueprint("pager: { type: pagerduty, routingKey: { fromGroup: pasted-token } }"));
  assert.match(noKey[0]!.message, /alerts\.channels\.pager\.routingKey\.fromGroup is invalid: names no variable/);
  assert.ok(!noKey[0]!.message.includes("pasted-token"));
});

test("an environment override that turns the variable into a plain value is caught too", () => {
  const yaml = `${blueprint("pager: { type: pagerduty, routingKey: { fromGroup: alerting.PD_KEY } }")}environments:\n  production:\n    envGroups:\n      alerting:\n        PD_KEY: in-the-file\n`;
  const [e] = errorsOf(yaml);
  assert.equal(e!.code, "BERTH_BLUEPRINT_LITERAL_SECRET");
  assert.match(e!.message, /^environment 'production': alerts\.channels\.pager\.routingKey: it reads env group variable alerting\.PD_KEY/);
});
