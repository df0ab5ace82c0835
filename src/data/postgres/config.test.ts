import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseMajor } from "./binaries.ts";
import { pgTimestamp, renderArchiveScript, renderBouncerIni, renderHba, renderIdent, renderServerConf, safePath } from "./config.ts";

describe("postgres configuration rendering", () => {
  test("berth.conf for a live server archives WAL at most every 60 s", (t) => {
    const conf = renderServerConf({ port: 54321, socketDir: "/srv/berth/pg/run", listenAll: false, archive: { script: "/srv/berth/archive-wal.sh", dir: "/srv/store/wal", timeoutMs: 600_000 } });
    assert.match(conf, /archive_timeout = 60\n/);
    t.assert.snapshot(conf.split("\n"));
  });

  test("berth.conf for a restore to a time", (t) => {
    t.assert.snapshot(renderServerConf({ port: 5, socketDir: "/r", listenAll: false, recovery: { script: "/srv/berth/restore-wal.sh", walDirs: ["/store/b/wal", "/store/a/wal"], timeline: 2, stop: { kind: "time", at: "2026-01-22T04:15:00.123Z" } } }).split("\n"));
  });

  test("pg_hba admits only each role to its own database, from loopback and the allow-list", (t) => {
    t.assert.snapshot(renderHba([{ database: "app", user: "app" }, { database: "billing", user: "billing" }], ["10.0.0.0/8"]).split("\n"));
  });

  test("pg_ident maps the OS users allowed to be superuser, once each", () => {
    assert.equal(renderIdent(["root", "postgres", "root"]), "berth root postgres\nberth postgres postgres\n");
  });

  test("PgBouncer listens on loopback in transaction mode", (t) => {
    t.assert.snapshot(renderBouncerIni({ listenPort: 6432, serverPort: 5432, authFile: "/srv/users.txt", databases: ["app"] }).split("\n"));
  });

  test("the archive script never overwrites a different segment", () => {
    const s = renderArchiveScript();
    assert.match(s, /cmp -s "\$src" "\$dst"/);
    assert.match(s, /mv "\$tmp" "\$dst"/);
  });

  test("paths with quotes or spaces are refused", () => {
    assert.throws(() => safePath("/tmp/it's"), /BERTH|paths/);
    assert.throws(() => safePath("relative/path"));
    assert.equal(safePath("/a/b-c_d.e"), "/a/b-c_d.e");
  });

  test("timestamps are written in a form PostgreSQL accepts", () => {
    assert.equal(pgTimestamp("2026-01-22T04:15:00.123Z"), "2026-01-22 04:15:00.123+00");
  });

  test("major version choice prefers the requested one, then the next newer", () => {
    assert.deepEqual(chooseMajor([15], 15), { major: 15, substituted: false });
    assert.deepEqual(chooseMajor([15, 17], 16), { major: 17, substituted: true });
    assert.deepEqual(chooseMajor([15], 16), { major: 15, substituted: true });
    assert.deepEqual(chooseMajor([15, 17], undefined), { major: 17, substituted: false });
    assert.equal(chooseMajor([], 15), undefined);
  });
});
