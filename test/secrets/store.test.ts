/** The secret store's CLI-facing operations and env groups, against a real SQLite store. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BerthError } from "../../src/core/errors.ts";
import type { SecretOwner, Secrets } from "../../src/secrets/index.ts";
import { Redactor, SecretStore } from "../../src/secrets/index.ts";
import { ProjectRepository } from "../../src/store/repositories/projects.ts";
import type { Fixture } from "./fixture.ts";
import { fixture } from "./fixture.ts";

describe("secret store", () => {
  let f: Fixture;
  let s: Secrets;
  before(() => {
    f = fixture();
    s = f.open();
  });
  after(() => f.close());
  const ref = (name: string, environment = "production", owner: SecretOwner = "service:api") => ({ project: f.project, environment, owner, name });

  test("list shows names and sources, never values; get returns the value", () => {
    s.store.set(ref("STRIPE_KEY"), "sk_live_listed", "alice");
    s.store.set(ref("STRIPE_KEY", "*"), "sk_test_default", "alice");
    s.store.ensureGenerated(f.project, "production", [{ owner: "service:api", name: "JWT_SECRET" }], "deploy");
    const listed = s.store.list(f.project, { environment: "production" });
    assert.deepEqual(
      listed.map((l) => [l.environment, l.owner, l.name, l.source, l.updatedBy]),
      [
        ["production", "service:api", "JWT_SECRET", "generated", "deploy"],
        ["*", "service:api", "STRIPE_KEY", "set", "alice"],
        ["production", "service:api", "STRIPE_KEY", "set", "alice"],
      ],
    );
    assert.ok(!JSON.stringify(listed).includes("sk_live"));
    assert.equal(s.store.get(ref("STRIPE_KEY")), "sk_live_listed");
    assert.throws(() => s.store.get(ref("STRIPE_KEY", "staging")), (e: unknown) => e instanceof BerthError && e.code === "BERTH_NOT_FOUND");
  });

  test("openAll: environment-specific values win over '*'; other environments are not included", () => {
    s.store.set(ref("ONLY_STAGING", "staging"), "staging-only", "alice");
    const prod = s.store.openAll(f.project, "production");
    assert.equal(prod["service:api"]!.STRIPE_KEY, "sk_live_listed");
    assert.equal(prod["service:api"]!.ONLY_STAGING, undefined);
    const staging = s.store.openAll(f.project, "staging");
    assert.equal(staging["service:api"]!.STRIPE_KEY, "sk_test_default");
    assert.equal(staging["service:api"]!.ONLY_STAGING, "staging-only");
  });

  test("read (an alert channel's credential): the environment's value, else the '*' default, else undefined", () => {
    assert.equal(s.store.read(ref("STRIPE_KEY")), "sk_live_listed");
    assert.equal(s.store.read(ref("STRIPE_KEY", "staging")), "sk_test_default");
    assert.equal(s.store.read(ref("ONLY_STAGING", "production")), undefined);
    assert.equal(s.store.read(ref("NOT_SET", "production", "group:alerting")), undefined);
  });

  test("generated secrets are created once and never replaced", () => {
    const first = s.store.get(ref("JWT_SECRET"));
    assert.match(first, /^[A-Za-z0-9_-]{43}$/);
    const created = s.store.ensureGenerated(f.project, "production", [{ owner: "service:api", name: "JWT_SECRET" }, { owner: "service:api", name: "HEX_KEY", encoding: "hex", lengthBytes: 16 }], "deploy");
    assert.deepEqual(created, ["service:api/HEX_KEY"]);
    assert.equal(s.store.get(ref("JWT_SECRET")), first);
    assert.match(s.store.get(ref("HEX_KEY")), /^[0-9a-f]{32}$/);
    // A value set by hand is never overwritten by generation either.
    assert.deepEqual(s.store.ensureGenerated(f.project, "staging", [{ owner: "service:api", name: "STRIPE_KEY" }], "deploy"), []);
  });

  test("unset removes; names, owners and environments are validated", () => {
    assert.match(s.store.set(ref("TINY_PIN"), "123", "alice").warning ?? "", /too short to be masked/);
    assert.equal(s.store.set(ref("LONG_ENOUGH"), "1234", "alice").warning, undefined);
    assert.equal(s.store.unset(ref("ONLY_STAGING", "staging"), "alice"), true);
    assert.equal(s.store.unset(ref("ONLY_STAGING", "staging"), "alice"), false);
    assert.throws(() => s.store.set(ref("1BAD"), "x", "alice"), (e: unknown) => e instanceof BerthError && e.code === "BERTH_SECRETS_NAME_INVALID");
    assert.throws(() => s.store.set(ref("OK", "production", "svc:api" as SecretOwner), "x", "alice"), /service:<name> or group:<name>/);
    assert.throws(() => s.store.set(ref("OK", "Prod!"), "x", "alice"), /environment name/);
  });

  test("env groups: create, hold values, remove with their values; events carry no values", () => {
    s.store.createGroup(f.project, "external", "alice");
    s.store.set(ref("TWILIO_TOKEN", "*", "group:external"), "twilio-secret-value", "alice");
    assert.deepEqual(s.store.listGroups(f.project).map((g) => g.name), ["external"]);
    assert.equal(s.store.openAll(f.project, "production")["group:external"]!.TWILIO_TOKEN, "twilio-secret-value");
    assert.equal(s.store.removeGroup(f.project, "external", "alice"), true);
    assert.deepEqual(s.store.listGroups(f.project), []);
    assert.equal(s.store.openAll(f.project, "production")["group:external"], undefined);
    const types = f.events.types();
    for (const t of ["secret:set", "secret:unset", "envgroup:created", "envgroup:removed"]) assert.ok(types.includes(t), t);
    assert.ok(!JSON.stringify(f.events.events).match(/twilio-secret-value|sk_live_listed|staging-only/));
  });

  test("onChange is told about every change (to rebuild the redactor and roll services)", () => {
    const changes: string[] = [];
    const s2 = f.open();
    const watched = new SecretStore({
      rows: f.rows,
      groups: f.groups,
      keyring: s2.keyring,
      onChange: (_p, env, owner) => changes.push(`${env}/${owner}`),
    });
    watched.set(ref("WATCHED"), "v-watched", "alice");
    watched.unset(ref("WATCHED"), "alice");
    assert.deepEqual(changes, ["production/service:api", "production/service:api"]);
  });

  test("the redactor built from the store masks every stored value", () => {
    const r = new Redactor(s.store.allValues());
    assert.equal(r.redact(`key=${s.store.get(ref("STRIPE_KEY"))}`), "key=[redacted:STRIPE_KEY]");
  });

  test("deleting a project deletes its data keys, values and groups (crypto-shredding)", () => {
    const doomed = f.addProject("doomed");
    s.store.set({ project: doomed, environment: "*", owner: "service:api", name: "GONE" }, "gone-value", "alice");
    s.store.createGroup(doomed, "g", "alice");
    new ProjectRepository(f.db).remove(doomed.id);
    assert.equal(f.rows.allDataKeys().filter((k) => k.projectId === doomed.id).length, 0);
    assert.deepEqual(f.rows.listValues(doomed.id), []);
    assert.deepEqual(s.store.listGroups(doomed), []);
  });
});
