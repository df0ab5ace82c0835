import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../../core/clock.ts";
import type { BerthEvent, EventInput } from "../../core/events.ts";
import { openDb } from "../../store/db.ts";
import { AlertRepository } from "../../store/repositories/alerts.ts";
import type { AlertNotice, ResolvedChannel } from "./channels.ts";
import { AlertManager, type AlertManagerOptions, type EnvironmentAlerts } from "./manager.ts";
import { resolveRules } from "./rules.ts";

function setup(rules = resolveRules(undefined), metric?: (s: string) => { value: number; requests: number } | undefined, stored: Record<string, string> = { "p/prod/alerting/PD_KEY": "k" }) {
  const clock = new ManualClock();
  const emitted: EventInput[] = [];
  const sent: { channel: string; notice: AlertNotice; resolved: ResolvedChannel }[] = [];
  const pdKey = { kind: "fromGroup", name: "alerting", key: "PD_KEY" } as const;
  const env: EnvironmentAlerts = { project: "p", environment: "prod", services: ["api"], rules, channels: { hook: { type: "webhook", url: "http://127.0.0.1:1/x" }, pd: { type: "pagerduty", routingKey: pdKey } }, route: { critical: ["pd", "hook"], warning: ["hook"] } };
  let seq = 0;
  const m = new AlertManager({
    repo: new AlertRepository(openDb(":memory:")),
    events: { emit: (e) => void emitted.push(e) },
    clock,
    environments: () => [env],
    metric: (ref) => metric?.(ref.service),
    metricEveryMs: 0,
    secret: (scope, group, key) => stored[`${scope.project}/${scope.environment}/${group}/${key}`],
    send: async (c, n) => void sent.push({ channel: c.type, notice: n, resolved: c }),
  });
  const event = (type: string, data: Record<string, unknown>, service = "api"): void =>
    m.onEvent({ seq: ++seq, at: new Date(clock.now()).toISOString(), type, scope: { project: "p", environment: "prod", service }, actor: "system", data } as unknown as BerthEvent);
  return { m, clock, emitted, sent, event };
}

const flush = () => new Promise((r) => setImmediate(r));

/** A manager for unscoped (domain) events: `scopeOf` places them, `metric` feeds the metric rules. */
function domainRouted(metric: AlertManagerOptions["metric"], scopeOf: NonNullable<AlertManagerOptions["scopeOf"]>) {
  const clock = new ManualClock();
  const emitted: EventInput[] = [];
  const env: EnvironmentAlerts = { project: "p", environment: "prod", services: ["api"], rules: resolveRules(undefined), channels: {} };
  const m = new AlertManager({ repo: new AlertRepository(openDb(":memory:")), events: { emit: (e) => void emitted.push(e) }, clock, environments: () => [env], metric, scopeOf });
  const ev = (type: string, data: unknown) => m.onEvent({ seq: 1, at: "", type, scope: {}, actor: "system", data } as unknown as BerthEvent);
  return { m, clock, emitted, ev };
}

test("a crash loop fires once (deduplicated), resolves only after being clear for 30 s, both notified with one dedup key", async () => {
  const { m, clock, emitted, sent, event } = setup();
  event("instance:crash-looping", { instance: "i1", failures: 5 });
  event("instance:crash-looping", { instance: "i1", failures: 6 });
  await flush();
  assert.deepEqual(emitted.filter((e) => e.type === "alert:firing").length, 1);
  assert.deepEqual(sent.map((s) => `${s.channel}:${s.notice.state}`).sort(), ["pagerduty:firing", "webhook:firing"]);
  event("instance:healthy", { instance: "i1" });
  clock.advance(20_000);
  event("instance:restarting", { instance: "i1", attempt: 7 }); // not fixed after all
  clock.advance(20_000);
  m.tick();
  assert.equal(emitted.filter((e) => e.type === "alert:resolved").length, 0);
  event("instance:healthy", { instance: "i1" });
  clock.advance(30_000);
  m.tick();
  await flush();
  assert.equal(emitted.filter((e) => e.type === "alert:resolved").length, 1);
  const pd = sent.filter((s) => s.channel === "pagerduty");
  assert.deepEqual(pd.map((s) => s.notice.state), ["firing", "resolved"]);
  assert.equal(pd[0]!.notice.dedupKey, pd[1]!.notice.dedupKey);
  assert.equal(m.list({ state: "resolved" }).length, 1);
});

test("channel credentials come from the secret store when sent; a missing one fails at once, naming the field, the secret and the command", async () => {
  const ok = setup();
  ok.event("instance:crash-looping", { instance: "i1", failures: 5 });
  await flush();
  const pd = ok.sent.find((s) => s.channel === "pagerduty")!.resolved;
  assert.deepEqual(pd, { type: "pagerduty", routingKey: "k" }, "the stored value, read for the environment");

  const missing = setup(undefined, undefined, {});
  missing.event("instance:crash-looping", { instance: "i1", failures: 5 });
  await flush();
  assert.deepEqual(missing.sent.map((s) => s.channel), ["webhook"], "the other channel still gets it");
  const failed = missing.emitted.filter((e) => e.type === "alert:notify-failed").map((e) => e.data as { channel: string; attempts: number; reason: string });
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.channel, "pd");
  assert.equal(failed[0]!.attempts, 1, "not retried: retrying cannot set a secret");
  assert.match(failed[0]!.reason, /alerts\.channels\.pd\.routingKey reads secret PD_KEY of env group 'alerting', which has no value in environment 'prod'/);
  assert.match(failed[0]!.reason, /berth secret set --group alerting PD_KEY=- --env prod/);
});

test("a condition shorter than `for` never fires; a longer one does", () => {
  const { m, clock, emitted, event } = setup();
  event("instance:unhealthy", { instance: "i1", reason: "HTTP 500" });
  clock.advance(10_000);
  m.tick();
  event("instance:healthy", { instance: "i1" });
  clock.advance(60_000);
  m.tick();
  assert.equal(emitted.filter((e) => e.type === "alert:firing").length, 0);
  assert.equal(m.list({}).length, 0, "the pending alert is discarded");
  event("instance:unhealthy", { instance: "i1", reason: "HTTP 500" });
  clock.advance(31_000);
  m.tick();
  assert.equal(emitted.filter((e) => e.type === "alert:firing").length, 1);
});

test("metric rules: error rate above 5 % for a minute fires, below it for a minute resolves", () => {
  let rate = 0.2;
  const { m, clock, emitted } = setup(undefined, (s) => (s === "api" ? { value: rate, requests: 100 } : undefined));
  m.tick();
  clock.advance(61_000);
  m.tick();
  const fired = emitted.filter((e) => e.type === "alert:firing");
  assert.equal(fired.length, 1);
  assert.match(String((fired[0]!.data as { summary: string }).summary), /20\.0 %/);
  rate = 0.01;
  m.tick();
  clock.advance(61_000);
  m.tick();
  assert.equal(emitted.filter((e) => e.type === "alert:resolved").length, 1);
});

test("blueprint rules change and extend the defaults", () => {
  const rules = resolveRules({ rules: [{ name: "crash-loop", enabled: false }, { name: "error-rate", above: "1%", severity: "warning" }, { name: "queue-backlog", metric: "queue", above: 1000, service: "worker", for: "2m", channels: ["pd"] }] });
  assert.ok(!rules.some((r) => r.name === "crash-loop"));
  const er = rules.find((r) => r.name === "error-rate")!;
  assert.equal(er.when.kind === "metric" && er.when.above, 0.01);
  assert.equal(er.severity, "warning");
  const q = rules.find((r) => r.name === "queue-backlog")!;
  assert.deepEqual({ ...q.when, forMs: q.forMs, channels: q.channels }, { kind: "metric", metric: "queue", above: 1000, windowMs: 300_000, minRequests: 0, service: "worker", forMs: 120_000, channels: ["pd"] });
  assert.equal(resolveRules({ defaults: false }).length, 0);
});

test("a certificate failure without a project is routed by its domain, and resolved by the next issue", () => {
  const { m, clock, ev } = domainRouted(
    (ref, metric) => (metric === "disk" && ref.service === "" ? { value: 95, requests: 0 } : undefined),
    (e) => ((e.data as { domain?: string }).domain === "shop.example.com" ? { project: "p", environment: "prod" } : undefined),
  );
  ev("router:cert-failed", { domain: "shop.example.com", detail: "rate limited" });
  ev("router:cert-failed", { domain: "other.example.com", detail: "x" });
  assert.deepEqual(m.list({ state: "firing" }).map((a) => [a.rule, a.service]), [["certificate", "shop.example.com"]]);
  ev("router:cert-issued", { domain: "shop.example.com", issuer: "acme", notAfter: "" });
  assert.equal(m.list({ state: "firing" }).length, 0);
  m.tick();
  clock.advance(61_000);
  m.tick();
  assert.deepEqual(m.list({ state: "firing" }).map((a) => [a.rule, a.service, a.value]), [["disk-full", "", 95]], "the host disk, once per environment");
});

test("an expiring certificate fires `certificate-expiring` (warning) for its domain's environment; a new certificate resolves it, and so do 3 quiet hours", () => {
  const rule = resolveRules(undefined).find((r) => r.name === "certificate-expiring");
  assert.deepEqual(rule && { severity: rule.severity, when: rule.when }, {
    severity: "warning",
    when: { kind: "event", fire: ["router:cert-expiring"], resolve: ["router:cert-issued"], keyField: "domain", quietMs: 3 * 3_600_000 },
  });
  assert.ok(!resolveRules({ rules: [{ name: "certificate-expiring", enabled: false }] }).some((r) => r.name === "certificate-expiring"), "a blueprint can turn it off");
  const { m, clock, emitted, ev } = domainRouted(
    () => undefined,
    (e) => ((e.data as { domain?: string }).domain?.endsWith("shop.example.com") ? { project: "p", environment: "prod" } : undefined),
  );
  const expiring = (domain: string) => ev("router:cert-expiring", { domain, notAfter: "2026-01-11T00:00:00.000Z", remainingMs: 10 * 86_400_000 });
  expiring("shop.example.com");
  expiring("www.shop.example.com");
  expiring("other.example.com"); // served by no environment
  const firing = () => m.list({ state: "firing" }).map((a) => [a.rule, a.service]);
  assert.deepEqual(firing().sort(), [
    ["certificate-expiring", "shop.example.com"],
    ["certificate-expiring", "www.shop.example.com"],
  ]);
  assert.match(m.list({ state: "firing" })[0]!.summary, /expires soon.*domain .*shop\.example\.com.*notAfter 2026-01-11/);
  ev("router:cert-issued", { domain: "shop.example.com", issuer: "acme", notAfter: "2026-04-01T00:00:00.000Z" });
  assert.deepEqual(firing(), [["certificate-expiring", "www.shop.example.com"]]);
  clock.advance(2 * 3_600_000);
  expiring("www.shop.example.com"); // the hourly report: still expiring
  clock.advance(2 * 3_600_000);
  m.tick();
  assert.deepEqual(firing(), [["certificate-expiring", "www.shop.example.com"]]);
  clock.advance(3_600_000); // no report for 3 hours: the domain is no longer routed
  m.tick();
  assert.deepEqual(firing(), []);
  assert.equal(emitted.filter((e) => e.type === "alert:resolved").length, 2);
});
