/**
 * Keyring against a real SQLite store: round trips, tampering, data-key and KEK rotation with
 * everything readable throughout, and the start-up self-test refusing a wrong KEK.
 */
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { BerthError } from "../../src/core/errors.ts";
import type { SecretOwner } from "../../src/secrets/index.ts";
import { Keyring, newKek, openSecrets, parseKeks, rotateDataKey, rotateKek, SecretStore, selfTest } from "../../src/secrets/index.ts";
import { loadKeks, writeKekFile } from "../../src/secrets/kek.ts";
import type { Fixture } from "./fixture.ts";
import { fixture } from "./fixture.ts";

const isCode = (code: string) => (e: unknown) => e instanceof BerthError && e.code === code;

describe("keyring and store", () => {
  let f: Fixture;
  before(() => {
    f = fixture();
  });
  after(() => f.close());

  test("first start creates the key file (0600) and warns to back it up; values round-trip", () => {
    const s = f.open();
    assert.equal(statSync(f.kekPath).mode & 0o777, 0o600);
    assert.match(s.warnings.join("\n"), /BACK IT UP/);
    assert.ok(f.events.types().includes("secrets:kek-created"));
    const ref = { project: f.project, environment: "production", owner: "service:api" as SecretOwner, name: "JWT_SECRET" };
    const listed = s.store.set(ref, "first-value", "alice");
    assert.equal(listed.source, "set");
    assert.equal(s.store.get(ref), "first-value");
    s.store.set(ref, "second-value", "alice");
    assert.equal(s.store.get(ref), "second-value");
    const row = f.rows.value({ projectId: f.project.id, environment: "production", owner: "service:api", name: "JWT_SECRET" })!;
    assert.match(row.ciphertext, new RegExp(`^bv1:${row.keyId}:`));
    assert.ok(!JSON.stringify(f.events.events).includes("second-value"));
  });

  test("a ciphertext moved to another variable, project or environment fails to decrypt", () => {
    const s = f.open();
    const other = f.addProject("other");
    const a = { project: f.project, environment: "production", owner: "service:api" as SecretOwner, name: "A_KEY" };
    s.store.set(a, "value-of-a", "alice");
    s.store.set({ ...a, name: "B_KEY" }, "value-of-b", "alice");
    s.store.set({ ...a, project: other }, "value-in-other", "alice");
    const rowA = f.rows.value({ projectId: f.project.id, environment: "production", owner: "service:api", name: "A_KEY" })!;
    const rowB = f.rows.value({ projectId: f.project.id, environment: "production", owner: "service:api", name: "B_KEY" })!;
    const rowO = f.rows.value({ projectId: other.id, environment: "production", owner: "service:api", name: "A_KEY" })!;
    // Swap A's ciphertext into B's row: same project, same key — only the associated data differs.
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run(rowA.ciphertext, rowB.id);
    assert.throws(() => s.store.get({ ...a, name: "B_KEY" }), isCode("BERTH_SECRETS_DECRYPT_FAILED"));
    // Another project's ciphertext: its key belongs to that project.
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ?, key_id = ? WHERE id = ?").run(rowO.ciphertext, rowO.keyId, rowB.id);
    assert.throws(() => s.store.get({ ...a, name: "B_KEY" }), isCode("BERTH_SECRETS_DECRYPT_FAILED"));
    f.db.sql.prepare("DELETE FROM secret_values WHERE id = ?").run(rowB.id);
  });

  test("corrupted ciphertext and unknown key ids are refused with clear codes; messages hold no values", () => {
    const s = f.open();
    const ref = { project: f.project, environment: "staging", owner: "service:api" as SecretOwner, name: "TAMPERED" };
    s.store.set(ref, "tamper-me-value", "alice");
    const row = f.rows.value({ projectId: f.project.id, environment: "staging", owner: "service:api", name: "TAMPERED" })!;
    const parts = row.ciphertext.split(":");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0]! ^= 0x80;
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run([...parts.slice(0, 3), body.toString("base64url")].join(":"), row.id);
    assert.throws(
      () => s.store.get(ref),
      (e: unknown) => isCode("BERTH_SECRETS_DECRYPT_FAILED")(e) && /TAMPERED/.test((e as Error).message) && !(e as Error).message.includes("tamper-me"),
    );
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run(row.ciphertext.replace(row.keyId, "dk_doesnotexist"), row.id);
    assert.throws(() => s.store.get(ref), isCode("BERTH_SECRETS_UNKNOWN_KEY"));
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run("plaintext!", row.id);
    assert.throws(() => s.store.get(ref), isCode("BERTH_SECRETS_FORMAT"));
    // The self-test of the next start refuses, naming the variable.
    assert.throws(() => f.open(), (e: unknown) => isCode("BERTH_SECRETS_SELFTEST_FAILED")(e) && /TAMPERED/.test((e as Error).message));
    f.db.sql.prepare("DELETE FROM secret_values WHERE id = ?").run(row.id);
  });

  test("the self-test refuses a wrong KEK, and a tampered wrapped data key", () => {
    f.open();
    assert.throws(() => f.open({ kind: "value", value: newKek().key.toString("base64"), origin: "BERTH_KEK" }), (e: unknown) => {
      return isCode("BERTH_SECRETS_SELFTEST_FAILED")(e) && /data keys cannot be unwrapped/.test((e as Error).message);
    });
    assert.ok(f.events.types().includes("secrets:self-test:failed"));
    const key = f.rows.allDataKeys()[0]!;
    const tampered = `${key.wrapped.slice(0, -2)}${key.wrapped.endsWith("AA") ? "BB" : "AA"}`;
    f.db.sql.prepare("UPDATE data_keys SET wrapped = ? WHERE id = ?").run(tampered, key.id);
    assert.throws(() => f.open(), isCode("BERTH_SECRETS_SELFTEST_FAILED"));
    f.db.sql.prepare("UPDATE data_keys SET wrapped = ? WHERE id = ?").run(key.wrapped, key.id);
    assert.ok(f.open().selfTest.dataKeys >= 2);
  });

  test("data-key rotation: new writes use the new version, old values re-encrypted, all readable", () => {
    const s = f.open();
    const names = Array.from({ length: 50 }, (_, i) => `ROT_${i}`);
    const ref = (name: string) => ({ project: f.project, environment: "production", owner: "service:worker" as SecretOwner, name });
    for (const n of names) s.store.set(ref(n), `value-${n}`, "alice");
    const before = s.keyring.activeKeyId(f.project.id);
    const rotation = rotateDataKey({ keyring: s.keyring, store: s.store, events: f.events }, f.project, "alice");
    assert.equal(rotation.toVersion, rotation.fromVersion + 1);
    assert.notEqual(rotation.keyId, before);
    assert.ok(rotation.reencrypted >= names.length);
    for (const n of names) assert.equal(s.store.get(ref(n)), `value-${n}`);
    const keyIds = new Set(f.rows.listValues(f.project.id).map((r) => r.keyId));
    assert.deepEqual([...keyIds], [rotation.keyId]);
    const old = f.rows.dataKey(before)!;
    assert.equal(old.state, "retired");
    assert.ok(f.events.types().includes("secrets:data-key-rotated"));
  });

  test("KEK rotation (file): every secret readable before, during and after; data keys re-wrapped; old key gone", () => {
    const s = f.open();
    const ref = (i: number) => ({ project: f.project, environment: "*", owner: "group:external" as SecretOwner, name: `MANY_${i}` });
    for (let i = 0; i < 200; i++) s.store.set(ref(i), `many-value-${i}`, "alice");
    const oldKekId = s.keyring.currentKekId;
    const sealedBefore = f.rows.allDataKeys().map((k) => k.wrapped);

    // "During": the new key is current while old wrappings still exist; reads keep working.
    const next = newKek();
    const rotation = rotateKek({ keyring: s.keyring, events: f.events }, s.kek, "alice", next);
    assert.equal(rotation.toKekId, next.id);
    assert.equal(rotation.rewrapped, sealedBefore.length);
    for (let i = 0; i < 200; i += 7) assert.equal(s.store.get(ref(i)), `many-value-${i}`);
    assert.ok(f.rows.allDataKeys().every((k) => k.kekId === next.id));
    assert.ok(f.rows.allDataKeys().every((k, i) => k.wrapped !== sealedBefore[i]));
    // The file now holds only the new key; a fresh start with it passes the self-test.
    assert.deepEqual(
      parseKeks(readFileSync(f.kekPath, "utf8"), "file").map((k) => k.id),
      [next.id],
    );
    const restarted = f.open();
    assert.equal(restarted.keyring.currentKekId, next.id);
    assert.equal(restarted.store.get(ref(199)), "many-value-199");
    // The old KEK alone can no longer open the store.
    assert.notEqual(oldKekId, next.id);
  });

  test("KEK rotation: at every step a fresh start from the key file on disk reads every secret", () => {
    const s = f.open();
    const ref = (i: number) => ({ project: f.project, environment: "*", owner: "group:external" as SecretOwner, name: `MANY_${i}` });
    const steps: string[] = [];
    const freshRead = (step: string) => {
      const keyring = new Keyring(f.rows, loadKeks({ kind: "file", path: f.kekPath }).keks);
      const store = new SecretStore({ rows: f.rows, groups: f.groups, keyring });
      const report = selfTest(keyring, store);
      assert.ok(report.values >= 200, step);
      for (let i = 0; i < 200; i += 13) assert.equal(store.get(ref(i)), `many-value-${i}`, step);
      steps.push(step);
    };
    freshRead("before");
    rotateKek({ keyring: s.keyring }, s.kek, "alice", newKek(), (step) => {
      freshRead(step);
      for (let i = 0; i < 200; i += 13) assert.equal(s.store.get(ref(i)), `many-value-${i}`, `live keyring at ${step}`);
    });
    freshRead("after");
    assert.deepEqual(steps, ["before", "key-file-written", "rewrapped", "old-keys-dropped", "after"]);
  });

  test("data-key rotation in batches: between batches old and new keys coexist and all values read", () => {
    const s = f.open();
    const ref = (i: number) => ({ project: f.project, environment: "*", owner: "group:external" as SecretOwner, name: `MANY_${i}` });
    const mixes: number[] = [];
    rotateDataKey({ keyring: s.keyring, store: s.store }, f.project, "alice", {
      batchSize: 40,
      onBatch: () => {
        mixes.push(new Set(f.rows.listValues(f.project.id).map((r) => r.keyId)).size);
        for (let i = 0; i < 200; i += 11) assert.equal(s.store.get(ref(i)), `many-value-${i}`);
      },
    });
    assert.ok(mixes.length >= 5);
    assert.ok(mixes[0]! >= 2, "after the first batch old and new keys coexist");
    assert.equal(mixes.at(-1), 1, "after the last batch one key remains");
  });

  test("KEK rotation interrupted after the new key was written: the next start finishes it", () => {
    const s = f.open();
    const current = s.keyring.keks[0]!;
    const next = newKek();
    // Simulate a crash right after step 1 of rotateKek: file = [next, current], nothing re-wrapped.
    writeKekFile(f.kekPath, [next, current]);
    const restarted = f.open();
    assert.equal(restarted.keyring.currentKekId, next.id);
    assert.ok(f.rows.allDataKeys().every((k) => k.kekId === next.id));
    assert.equal(parseKeks(readFileSync(f.kekPath, "utf8"), "file").length, 1);
    assert.equal(restarted.store.get({ project: f.project, environment: "*", owner: "group:external", name: "MANY_3" }), "many-value-3");
  });

  test("KEK from an environment variable: rotate by NEW,OLD and restart; in-place rotation is refused", () => {
    const fileKek = parseKeks(readFileSync(f.kekPath, "utf8"), "file")[0]!;
    const fromEnv = { kind: "value" as const, value: fileKek.key.toString("base64"), origin: "BERTH_KEK" };
    const s = openSecrets({ rows: f.rows, groups: f.groups, kek: fromEnv });
    assert.throws(() => rotateKek({ keyring: s.keyring }, s.kek, "alice"), isCode("BERTH_SECRETS_KEK_READONLY"));
    const next = newKek();
    const both = { ...fromEnv, value: `${next.key.toString("base64")},${fromEnv.value}` };
    const rotated = openSecrets({ rows: f.rows, groups: f.groups, kek: both });
    assert.match(rotated.warnings.join("\n"), /remove the older key/);
    assert.ok(f.rows.allDataKeys().every((k) => k.kekId === next.id));
    const onlyNew = openSecrets({ rows: f.rows, groups: f.groups, kek: { ...fromEnv, value: next.key.toString("base64") } });
    assert.equal(onlyNew.store.get({ project: f.project, environment: "*", owner: "group:external", name: "MANY_5" }), "many-value-5");
  });
});
