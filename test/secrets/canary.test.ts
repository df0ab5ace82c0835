/**
 * The canary: a secret value that must appear 0 times in the store's files on disk (database,
 * -wal and -shm), in events and in error messages, after set, generate, seal, both rotations and
 * a failed decrypt.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { toBerthError } from "../../src/core/errors.ts";
import type { SecretOwner, Secrets } from "../../src/secrets/index.ts";
import { newKek, rotateDataKey, rotateKek, sealEnv } from "../../src/secrets/index.ts";
import type { Fixture } from "./fixture.ts";
import { fixture } from "./fixture.ts";

const CANARY = `canary-${Date.now().toString(36)}-7f3a9c1e5b`;

function forms(value: string): string[] {
  return [value, encodeURIComponent(value), Buffer.from(value).toString("base64").replace(/=+$/, ""), Buffer.from(value).toString("hex")];
}

function storeFiles(f: Fixture): string[] {
  return [f.db.path, `${f.db.path}-wal`, `${f.db.path}-shm`].filter((p) => existsSync(p));
}

function countIn(paths: string[], needles: string[]): number {
  let n = 0;
  for (const p of paths) {
    const bytes = readFileSync(p);
    for (const needle of needles) {
      for (const enc of ["utf8", "utf16le"] as const) {
        const b = Buffer.from(needle, enc);
        for (let at = bytes.indexOf(b); at >= 0; at = bytes.indexOf(b, at + 1)) n++;
      }
    }
  }
  return n;
}

describe("canary secret", () => {
  let f: Fixture;
  let s: Secrets;
  let generated = "";
  before(() => {
    f = fixture();
    s = f.open();
  });
  after(() => f.close());
  const ref = () => ({ project: f.project, environment: "production", owner: "service:api" as SecretOwner, name: "CANARY" });

  test("set, generate, seal, rotate both keys: 0 occurrences in the db, -wal and -shm files", () => {
    const r = ref();
    s.store.set(r, CANARY, "alice");
    s.store.set({ ...r, name: "CANARY_GROUP", owner: "group:external", environment: "*" }, CANARY, "alice");
    s.store.ensureGenerated(f.project, "production", [{ owner: "service:api", name: "GENERATED" }], "deploy");
    generated = s.store.get({ ...r, name: "GENERATED" });
    // A sealed release env is stored by the lead's releases table; store it in a scratch table here.
    f.db.sql.exec("CREATE TABLE IF NOT EXISTS scratch_releases (sealed TEXT)");
    f.db.sql.prepare("INSERT INTO scratch_releases (sealed) VALUES (?)").run(sealEnv(s.keyring, f.project, { CANARY, GENERATED: generated }));
    rotateDataKey({ keyring: s.keyring, store: s.store }, f.project, "alice");
    s.store.set(r, CANARY, "alice");
    rotateKek({ keyring: s.keyring }, s.kek, "alice", newKek());
    assert.equal(s.store.get(r), CANARY);

    const files = storeFiles(f);
    assert.ok(files.some((p) => p.endsWith("-wal")), "the WAL file exists and is checked");
    assert.equal(countIn(files, [...forms(CANARY), ...forms(generated)]), 0);
    // And after a checkpoint folds the WAL into the main file.
    f.db.sql.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    assert.equal(countIn(storeFiles(f), [...forms(CANARY), ...forms(generated)]), 0);
    // The key file holds the KEK only.
    assert.equal(countIn([f.kekPath], forms(CANARY)), 0);
  });

  test("0 occurrences in events and in the error of a failed decrypt", () => {
    assert.equal(JSON.stringify(f.events.events).split(CANARY).length - 1, 0);
    const row = f.rows.value({ projectId: f.project.id, environment: "production", owner: "service:api", name: "CANARY" })!;
    f.db.sql.prepare("UPDATE secret_values SET ciphertext = ? WHERE id = ?").run(`${row.ciphertext.slice(0, -4)}AAAA`, row.id);
    let err: unknown;
    try {
      s.store.get(ref());
    } catch (e) {
      err = e;
    }
    const wire = JSON.stringify(toBerthError(err).toJSON());
    assert.match(wire, /BERTH_SECRETS_/);
    assert.ok(!wire.includes(CANARY) && !wire.includes(generated));
  });
});
