import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { findStores } from "./recover.ts";

describe("findStores: what disaster recovery accepts as --from", () => {
  const root = mkdtempSync(join(tmpdir(), "berth-find-stores-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const store = (dir: string) => {
    mkdirSync(join(dir, "base"), { recursive: true });
    mkdirSync(join(dir, "wal"), { recursive: true });
    return dir;
  };
  const where = { project: "shop", environment: "production" };

  test("a copy of Berth's backups directory, a directory of stores, or one store", () => {
    store(join(root, "backups", "shop", "production", "postgres", "pg_a"));
    store(join(root, "backups", "shop", "production", "postgres", "rst-b"));
    store(join(root, "backups", "other", "production", "postgres", "pg_x"));
    assert.deepEqual(findStores(join(root, "backups"), where).map((s) => s.instance).sort(), ["pg_a", "rst-b"]);
    assert.deepEqual(findStores(join(root, "backups", "shop", "production", "postgres"), where).map((s) => s.instance).sort(), ["pg_a", "rst-b"]);
    assert.deepEqual(findStores(join(root, "backups", "shop", "production", "postgres", "pg_a"), where).map((s) => s.instance), ["pg_a"]);
  });

  test("anything else is refused, saying what was looked for", () => {
    mkdirSync(join(root, "empty"));
    assert.throws(() => findStores(join(root, "empty"), where), /BERTH|no backup store in it.*shop\/production\/postgres/);
    assert.throws(() => findStores(join(root, "nope"), where), /does not exist/);
  });
});
