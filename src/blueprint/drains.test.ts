/**
 * Log drain credentials (issue 18): every header value is a secret reference, a literal one is
 * refused without being repeated; a drain URL may be a reference, and a literal URL carrying a
 * credential is refused; the normalized blueprint carries only references.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { drainSecretRefs, urlCredential } from "./drains.ts";
import { parseBlueprint } from "./index.ts";

const blueprint = (drain: string) =>
  `version: 1\nproject: demo\nservices:\n  api: { type: web, start: node s.js }\nenvGroups:\n  logging:\n    LOGTAIL_TOKEN: { secret: true }\n    INGEST_URL: { secret: true }\n    PLAIN: not-a-secret\nlogDrains:\n  - ${drain}\n`;

const errorsOf = (yaml: string) => {
  const r = parseBlueprint(yaml, { file: "berth.yaml" });
  assert.equal(r.ok, false, "expected errors");
  return r.ok ? [] : r.errors;
};

test("a literal header value is refused, naming the field and the command, never repeating the value", () => {
  const cases: [string, string, string][] = [
    ['{ type: http, url: "https://in.logs.example.com", headers: { Authorization: "Bearer logtail-token-literal" } }', "logDrains[0].headers.Authorization", "DRAIN_AUTHORIZATION"],
    ['{ type: otlp, url: "https://otlp.example.com/v1/logs", headers: { DD-API-KEY: dd-key-literal } }', "logDrains[0].headers.DD-API-KEY", "DRAIN_DD_API_KEY"],
    // Not only names that look like keys: Honeycomb's key goes in X-Honeycomb-Team.
    ['{ type: http, url: "https://api.honeycomb.io/1/batch/x", headers: { X-Honeycomb-Team: hc-team-literal } }', "logDrains[0].headers.X-Honeycomb-Team", "DRAIN_X_HONEYCOMB_TEAM"],
  ];
  for (const [drain, field, key] of cases) {
    const [e, ...rest] = errorsOf(blueprint(drain));
    assert.deepEqual(rest, [], drain);
    assert.equal(e!.code, "BERTH_BLUEPRINT_LITERAL_SECRET");
    assert.equal(e!.line, 11);
    assert.ok(e!.message.startsWith(`${field}: a credential may not be written in berth.yaml`), e!.message);
    assert.ok(e!.hint.includes(`{ fromGroup: logging.${key} }`) && e!.hint.includes(`berth secret set --group logging ${key}=-`), e!.hint);
    assert.ok(!/literal/.test(`${e!.message} ${e!.hint}`), "the value is not repeated");
  }
});

test("a literal URL carrying a credential is refused; a plain one and a reference are accepted", () => {
  for (const url of ["https://user:pw-literal@in.example.com/", "https://in.example.com/ingest?api_key=k-literal", "https://in.example.com/?token=t-literal"]) {
    const [e, ...rest] = errorsOf(blueprint(`{ type: http, url: "${url}" }`));
    assert.deepEqual(rest, [], url);
    assert.equal(e!.code, "BERTH_BLUEPRINT_LITERAL_SECRET");
    assert.match(e!.message, /^logDrains\[0\]\.url: the URL carries/);
    assert.match(e!.hint, /url: \{ fromGroup: logging\.DRAIN_URL \}.*berth secret set --group logging DRAIN_URL=-/);
    assert.ok(!/literal/.test(`${e!.message} ${e!.hint}`), "the value is not repeated");
  }
  assert.equal(urlCredential("https://in.example.com/ingest?source=berth&design=1&author=x"), undefined);
  assert.match(urlCredential("https://in.example.com/?accessToken=x") ?? "", /'accessToken'/);
  assert.match(urlCredential("https://in.example.com/?dd-api-key=x") ?? "", /'dd-api-key'/);
  const r = parseBlueprint(blueprint("{ type: http, url: { fromGroup: logging.INGEST_URL }, headers: { Authorization: { fromGroup: { name: logging, key: LOGTAIL_TOKEN } } } }\n  - { type: otlp, url: \"https://otlp.example.com/v1/logs\" }\n  - { type: syslog, url: \"tls://logs.example.com:6514\" }"), { file: "berth.yaml" });
  assert.ok(r.ok, r.ok ? "" : r.errors.map((e) => e.message).join("\n"));
  assert.deepEqual(r.blueprint.logDrains, [
    { type: "http", url: { kind: "fromGroup", name: "logging", key: "INGEST_URL" }, headers: { Authorization: { kind: "fromGroup", name: "logging", key: "LOGTAIL_TOKEN" } } },
    { type: "otlp", url: "https://otlp.example.com/v1/logs" },
    { type: "syslog", url: "tls://logs.example.com:6514" },
  ]);
  assert.deepEqual(drainSecretRefs(r.blueprint.logDrains).map((x) => x.field), ["logDrains[0].url", "logDrains[0].headers.Authorization"]);
});

test("a header reference must name a declared, secret variable", () => {
  const plain = errorsOf(blueprint('{ type: http, url: "https://in.example.com", headers: { Authorization: { fromGroup: logging.PLAIN } } }'));
  assert.equal(plain[0]!.code, "BERTH_BLUEPRINT_LITERAL_SECRET");
  assert.match(plain[0]!.hint, /PLAIN: \{ secret: true \}/);
  const unknown = errorsOf(blueprint('{ type: http, url: "https://in.example.com", headers: { Authorization: { fromGroup: loging.LOGTAIL_TOKEN } } }'));
  assert.equal(unknown[0]!.code, "BERTH_BLUEPRINT_UNKNOWN_REFERENCE");
  assert.match(unknown[0]!.message, /logDrains\[0\]\.headers\.Authorization refers to env group 'loging'/);
});
