// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are env interpolation templates, not JS templates
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BerthError } from "../core/errors.ts";
import { parseTemplate } from "./interpolate.ts";
import { missingGenerated, requireResolved, resolveEnv } from "./resolve.ts";
import type { AvailableValues, EnvResolutionInput } from "./sources.ts";

const available: AvailableValues = {
  secrets: {
    "service:api": { JWT_SECRET: "jwt-generated-value", STRIPE_KEY: "sk_live_123" },
    "group:external": { TWILIO_TOKEN: "twilio-token-value" },
  },
  databases: { db: { connectionString: "postgres://app:pw@127.0.0.1:5432/app", host: "127.0.0.1", port: "5432", password: "pw" } },
  keyValues: { cache: { url: "redis://127.0.0.1:6379", host: "127.0.0.1", port: "6379" } },
  services: { api: { host: "api.internal", port: "3801", hostport: "api.internal:3801", url: "http://api.internal:3801" }, web: { host: "web.internal", port: "3000" } },
};

function input(partial: Partial<EnvResolutionInput>): EnvResolutionInput {
  return { services: {}, groups: {}, available, ...partial };
}

describe("resolveEnv", () => {
  test("every source kind resolves; precedence is defaults < groups (in order) < service env", () => {
    const result = resolveEnv(
      input({
        services: {
          api: {
            defaults: { PORT: "3801", LOG_LEVEL: "info", REGION: "default" },
            groups: ["external", "quotas"],
            vars: {
              DATABASE_URL: { kind: "fromDatabase", name: "db", property: "connectionString" },
              REDIS_URL: { kind: "fromKeyValue", name: "cache", property: "url" },
              JWT_SECRET: { kind: "generate" },
              STRIPE_KEY: { kind: "secret" },
              LOG_LEVEL: { kind: "literal", value: "debug" },
              PUBLIC_URL: { kind: "interpolated", template: "https://${api.host}:${PORT}/v1?cost=$$5" },
              WEB_PORT: { kind: "fromService", name: "web", property: "port" },
              SMS: { kind: "fromGroup", name: "external", key: "TWILIO_TOKEN" },
            },
          },
          web: { groups: [], vars: { API_URL: { kind: "fromServiceEnv", name: "api", envVarKey: "PUBLIC_URL" } } },
        },
        groups: {
          external: { TWILIO_TOKEN: { kind: "secret" }, REGION: { kind: "literal", value: "eu" } },
          quotas: { REGION: { kind: "literal", value: "ch" }, SPOTIFY_RATE_LIMIT: { kind: "literal", value: "50" } },
        },
      }),
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const api = result.services.api!;
    assert.deepEqual(api.env, {
      PORT: "3801",
      LOG_LEVEL: "debug",
      REGION: "ch",
      TWILIO_TOKEN: "twilio-token-value",
      SPOTIFY_RATE_LIMIT: "50",
      DATABASE_URL: "postgres://app:pw@127.0.0.1:5432/app",
      REDIS_URL: "redis://127.0.0.1:6379",
      JWT_SECRET: "jwt-generated-value",
      STRIPE_KEY: "sk_live_123",
      PUBLIC_URL: "https://api.internal:3801/v1?cost=$5",
      WEB_PORT: "3000",
      SMS: "twilio-token-value",
    });
    assert.equal(api.origins.REGION, "group:quotas");
    assert.equal(api.origins.PORT, "default");
    assert.equal(api.origins.LOG_LEVEL, "service");
    assert.deepEqual([...api.sensitive].sort(), ["DATABASE_URL", "JWT_SECRET", "REDIS_URL", "SMS", "STRIPE_KEY", "TWILIO_TOKEN"]);
    assert.deepEqual(result.services.web!.env, { API_URL: "https://api.internal:3801/v1?cost=$5" });
  });

  test("a missing secret names the service, the variable and how to set it", () => {
    const result = resolveEnv(input({ services: { worker: { groups: [], vars: { SENDGRID_API_KEY: { kind: "secret" } } } } }));
    assert.ok(!result.ok);
    assert.deepEqual(result.errors.map((e) => [e.service, e.variable, e.reason]), [["worker", "SENDGRID_API_KEY", "missing-secret"]]);
    assert.match(result.errors[0]!.message, /berth env set SENDGRID_API_KEY=\.\.\. --service worker/);
  });

  test("missing references, unknown properties and bad templates are each reported with their variable", () => {
    const result = resolveEnv(
      input({
        services: {
          api: {
            groups: ["nope"],
            vars: {
              A: { kind: "fromDatabase", name: "dbb", property: "host" },
              B: { kind: "fromDatabase", name: "db", property: "connectionStrng" },
              C: { kind: "interpolated", template: "${MISSING}" },
              D: { kind: "interpolated", template: "${ghost.host}" },
              E: { kind: "interpolated", template: "${unterminated" },
              F: { kind: "fromServiceEnv", name: "api", envVarKey: "NOPE" },
              G: { kind: "fromGroup", name: "external", key: "NOPE" },
              H: { kind: "interpolated", template: "x${A}" },
            },
          },
        },
        groups: { external: {} },
      }),
    );
    assert.ok(!result.ok);
    const got = Object.fromEntries(result.errors.map((e) => [e.variable, e.reason]));
    assert.deepEqual(got, {
      "envGroups[nope]": "missing-reference",
      A: "missing-reference",
      B: "unknown-property",
      C: "missing-reference",
      D: "missing-reference",
      E: "bad-interpolation",
      F: "missing-reference",
      G: "missing-reference",
      H: "dependency-failed",
    });
    assert.equal(result.errors.at(-1)!.variable, "H", "root causes come before dependants");
    assert.match(result.errors.find((e) => e.variable === "B")!.message, /has no property 'connectionStrng' \(it has: connectionString, host, port, password\)/);
  });

  test("cycles are reported with their path, within and across services", () => {
    const result = resolveEnv(
      input({
        services: {
          api: { groups: [], vars: { A: { kind: "interpolated", template: "${B}" }, B: { kind: "interpolated", template: "x${A}" }, OK: { kind: "literal", value: "fine" } } },
          web: { groups: [], vars: { W: { kind: "fromServiceEnv", name: "worker", envVarKey: "K" } } },
          worker: { groups: [], vars: { K: { kind: "fromServiceEnv", name: "web", envVarKey: "W" } } },
        },
      }),
    );
    assert.ok(!result.ok);
    const cycles = result.errors.filter((e) => e.reason === "cycle").map((e) => e.message);
    assert.deepEqual(cycles, ["reference cycle: api.A -> api.B -> api.A", "reference cycle: web.W -> worker.K -> web.W"]);
    assert.ok(!result.errors.some((e) => e.variable === "OK"));
  });

  test("only: problems of other services do not block, but references into them are followed", () => {
    const decl = {
      services: {
        api: { groups: [], vars: { KEY: { kind: "secret" as const }, OK: { kind: "literal" as const, value: "1" } } },
        web: { groups: [], vars: { FROM_API: { kind: "fromServiceEnv" as const, name: "api", envVarKey: "OK" } } },
        worker: { groups: [], vars: { FROM_API: { kind: "fromServiceEnv" as const, name: "api", envVarKey: "KEY" } } },
      },
    };
    const web = resolveEnv(input(decl), { only: ["web"] });
    assert.ok(web.ok);
    assert.deepEqual(Object.keys(web.services), ["web"]);
    assert.deepEqual(web.services.web!.env, { FROM_API: "1" });
    const worker = resolveEnv(input(decl), { only: ["worker"] });
    assert.ok(!worker.ok);
    assert.deepEqual(worker.errors.map((e) => `${e.service}.${e.variable}:${e.reason}`), ["api.KEY:missing-secret", "worker.FROM_API:dependency-failed"]);
  });

  test("requireResolved throws BERTH_ENV_UNRESOLVED naming the first variable, with every error in details", () => {
    const result = resolveEnv(input({ services: { api: { groups: [], vars: { X: { kind: "secret" }, Y: { kind: "secret" } } } } }));
    assert.throws(
      () => requireResolved(result),
      (e: unknown) => e instanceof BerthError && e.code === "BERTH_ENV_UNRESOLVED" && /api\.X/.test(e.message) && e.details?.length === 2,
    );
  });

  test("missingGenerated lists generated secrets without a value, per owner, once", () => {
    const wanted = missingGenerated(
      input({
        services: {
          api: { groups: ["shared"], vars: { JWT_SECRET: { kind: "generate" }, SESSION_KEY: { kind: "generate", encoding: "hex", lengthBytes: 16 } } },
          web: { groups: ["shared"], vars: {} },
        },
        groups: { shared: { COOKIE_KEY: { kind: "generate" } } },
      }),
    );
    assert.deepEqual(wanted, [
      { owner: "service:api", name: "SESSION_KEY", encoding: "hex", lengthBytes: 16 },
      { owner: "group:shared", name: "COOKIE_KEY" },
    ]);
  });
});

describe("parseTemplate", () => {
  test("splits text, variables and properties; $$ is a literal $", () => {
    assert.deepEqual(parseTemplate("a$${x}${B}${db.port}"), {
      ok: true,
      parts: [
        { kind: "text", text: "a${x}" },
        { kind: "var", name: "B" },
        { kind: "prop", target: "db", property: "port" },
      ],
    });
    assert.equal(parseTemplate("${a b}").ok, false);
  });
});
