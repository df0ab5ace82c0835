import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { envVersions, ownersReaching, type SecretRowsView } from "./env-version.ts";

const BP = {
  services: [
    { name: "api", env: { KEY: { kind: "secret" } }, envGroups: ["external"] },
    { name: "worker", env: { FROM_API: { kind: "fromServiceEnv", name: "api", envVarKey: "KEY" }, ONE: { kind: "fromGroup", name: "quotas", key: "Q" } }, envGroups: [] },
    { name: "web", env: { PLAIN: { kind: "literal", value: "x" } }, envGroups: [] },
  ],
  envGroups: [{ name: "external", env: {} }, { name: "quotas", env: { Q: { kind: "secret" } } }],
};

const rows = (list: { environment: string; owner: string; name: string; source: string; updatedAt: string }[]): SecretRowsView => ({
  listValues: (_p, f) => list.filter((r) => !f?.environments || f.environments.includes(r.environment)),
});

describe("env versions", () => {
  test("owners reaching a service: itself, its groups, groups and services it reads from (transitively)", () => {
    assert.deepEqual([...ownersReaching(BP, "api")].sort(), ["group:external", "service:api"]);
    assert.deepEqual([...ownersReaching(BP, "worker")].sort(), ["group:external", "group:quotas", "service:api", "service:worker"]);
    assert.deepEqual([...ownersReaching(BP, "web")], ["service:web"]);
  });

  test("a version changes only for services a changed row reaches; generated rows and other environments do not count", () => {
    const base = [{ environment: "production", owner: "service:api", name: "KEY", source: "set", updatedAt: "t1" }];
    const v1 = envVersions(rows(base), "p", "production", BP);
    const v2 = envVersions(rows([{ ...base[0]!, updatedAt: "t2" }]), "p", "production", BP);
    assert.notEqual(v1("api"), v2("api"));
    assert.notEqual(v1("worker"), v2("worker"));
    assert.equal(v1("web"), "");
    assert.equal(v2("web"), "");
    const generated = envVersions(rows([...base, { environment: "production", owner: "service:web", name: "G", source: "generated", updatedAt: "t3" }]), "p", "production", BP);
    assert.equal(generated("web"), "");
    const staging = envVersions(rows([...base, { environment: "staging", owner: "service:api", name: "X", source: "set", updatedAt: "t4" }]), "p", "production", BP);
    assert.equal(staging("api"), v1("api"));
    const star = envVersions(rows([...base, { environment: "*", owner: "group:external", name: "M", source: "set", updatedAt: "t5" }]), "p", "production", BP);
    assert.notEqual(star("api"), v1("api"));
    assert.equal(envVersions(rows(base), undefined, "production", BP)("api"), "", "no project yet: no secrets");
  });
});
