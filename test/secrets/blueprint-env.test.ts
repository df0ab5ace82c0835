/**
 * The seed-001 example blueprint through env resolution: the blueprint's env types are accepted
 * as they are, generated secrets are created once, a missing CLI secret names its variable, and
 * the final env is sealed and opened for a release.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseBlueprint, resolveEnvironment } from "../../src/blueprint/index.ts";
import type { AvailableValues, Secrets } from "../../src/secrets/index.ts";
import { BerthError } from "../../src/core/errors.ts";
import {
  envInputFromBlueprint,
  envOpener,
  missingGenerated,
  openEnv,
  prepareReleaseEnvs,
  requireResolved,
  resolveEnv,
  sealEnv,
} from "../../src/secrets/index.ts";
import type { Fixture } from "./fixture.ts";
import { fixture } from "./fixture.ts";

const file = join(import.meta.dirname, "../../examples/reminders/berth.yaml");

describe("env of the reminders example", () => {
  let f: Fixture;
  let s: Secrets;
  before(() => {
    f = fixture();
    s = f.open();
  });
  after(() => f.close());

  test("resolves end to end: generated once, missing secret named, then sealed and opened", () => {
    const parsed = parseBlueprint(readFileSync(file, "utf8"), { file });
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors.slice(0, 3)));
    const bp = resolveEnvironment(parsed.blueprint, "production");
    const resources = {
      databases: { db: { connectionString: "postgres://u:p@10.0.0.5:5432/er", pooledConnectionString: "postgres://u:p@10.0.0.5:6432/er", host: "10.0.0.5", port: "5432", user: "u", password: "p", database: "er" } },
      keyValues: { cache: { url: "redis://10.0.0.6:6379", connectionString: "redis://10.0.0.6:6379", host: "10.0.0.6", port: "6379" } },
      services: Object.fromEntries(bp.services.map((svc) => [svc.name, { host: `${svc.name}.internal`, port: "3801", hostport: `${svc.name}.internal:3801`, url: `http://${svc.name}.internal:3801`, publicUrl: `https://${svc.name}.example.com` }])),
    };
    const available = (): AvailableValues => ({ secrets: s.store.openAll(f.project, "production"), ...resources });
    const defaults = (svc: string) => ({ PORT: "10000", BERTH_SERVICE: svc });

    let input = envInputFromBlueprint(bp, available(), defaults);
    const wanted = missingGenerated(input);
    assert.ok(wanted.some((w) => w.owner === "service:api" && w.name === "ENCRYPTION_KEY" && w.encoding === "hex"));
    s.store.ensureGenerated(f.project, "production", wanted, "deploy");
    assert.deepEqual(s.store.ensureGenerated(f.project, "production", wanted, "deploy"), [], "created once");

    input = envInputFromBlueprint(bp, available(), defaults);
    const first = resolveEnv(input);
    assert.ok(!first.ok);
    const posthog = first.errors.find((e) => e.variable === "NEXT_PUBLIC_POSTHOG_KEY");
    assert.equal(posthog?.service, "web");
    assert.equal(posthog?.reason, "missing-secret");

    s.store.set({ project: f.project, environment: "production", owner: "service:web", name: "NEXT_PUBLIC_POSTHOG_KEY" }, "phc_test", "alice");
    for (const g of bp.envGroups) {
      for (const [name, src] of Object.entries(g.env)) {
        if (src.kind === "secret") s.store.set({ project: f.project, environment: "*", owner: `group:${g.name}`, name }, `value-of-${name}`, "alice");
      }
    }
    const services = requireResolved(resolveEnv(envInputFromBlueprint(bp, available(), defaults)));
    const api = services.api!.env;
    assert.match(api.ENCRYPTION_KEY!, /^[0-9a-f]{64}$/);
    assert.equal(services.worker!.env.ENCRYPTION_KEY, api.ENCRYPTION_KEY, "fromService envVarKey");
    assert.equal(api.DATABASE_URL, resources.databases.db.connectionString);
    assert.equal(services.worker!.env.DATABASE_URL, resources.databases.db.pooledConnectionString);
    assert.equal(api.API_URL, "https://api.example.com");
    assert.equal(api.BERTH_SERVICE, "api");
    assert.ok(services.api!.sensitive.includes("JWT_SECRET"));

    const sealed = sealEnv(s.keyring, f.project, api, { environment: "production", service: "api" });
    assert.deepEqual(openEnv(s.keyring, sealed).env, api);
  });

  test("prepareReleaseEnvs: sealed per service, sensitive values for the redactor; a corrupted secret fails before anything is sealed", async () => {
    const parsed = parseBlueprint(readFileSync(file, "utf8"), { file });
    assert.ok(parsed.ok);
    const bp = resolveEnvironment(parsed.blueprint, "production");
    const resources = {
      databases: { db: { connectionString: "postgres://u:db-pass-9x7@10.0.0.5:5432/er", pooledConnectionString: "postgres://u:db-pass-9x7@10.0.0.5:6432/er" } },
      keyValues: { cache: { url: "redis://10.0.0.6:6379" } },
      services: Object.fromEntries(bp.services.map((svc) => [svc.name, { publicUrl: `https://${svc.name}.example.com` }])),
    };
    const req = { project: f.project, environment: "production", blueprint: bp, resources, actor: "deploy" };
    const out = prepareReleaseEnvs(s, req);
    assert.deepEqual(Object.keys(out.sealed).sort(), bp.services.map((x) => x.name).sort());
    assert.equal(out.generated.length, 0, "generated by the previous test already");
    assert.deepEqual(Object.keys(prepareReleaseEnvs(s, { ...req, only: ["worker"] }).sealed), ["worker"]);
    const opener = envOpener(s.keyring, (name) => (name === f.project.name ? f.project.id : undefined));
    const env = await opener({ id: "r1", number: 1, service: { project: f.project.name, environment: "production", service: "api" }, sealedEnv: out.sealed.api! });
    assert.equal(env.DATABASE_URL, resources.databases.db.connectionString);
    assert.equal(out.summary.api!.origins.DATABASE_URL, "service");
    const redactor = s.store.redactor(out.sensitive);
    assert.ok(!redactor.redact(`connecting to ${env.DATABASE_URL} with ${env.JWT_SECRET}`).match(/db-pass-9x7|postgres:\/\/u:/));
    assert.ok(!redactor.redact(`jwt=${env.JWT_SECRET}`).includes(env.JWT_SECRET!));

    // Corrupt one stored secret: the whole preparation fails with a clear code, nothing sealed.
    const row = f.rows.listValues(f.project.id).find((r) => r.name === "JWT_SECRET")!;
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run(`${row.ciphertext.slice(0, -6)}AAAAAA`, row.id);
    assert.throws(
      () => prepareReleaseEnvs(s, req),
      (e: unknown) => e instanceof BerthError && e.code === "BERTH_SECRETS_DECRYPT_FAILED" && /JWT_SECRET/.test(e.message),
    );
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run(row.ciphertext, row.id);
  });
});
