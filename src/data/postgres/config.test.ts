import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { POSTGRES_MAJORS } from "../../blueprint/runtime-versions.ts";
import { NPM_BUILDS, planSource } from "./distribution.ts";
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

  test("a major comes from the distribution when installed, else from the pinned npm build, else an error", () => {
    assert.deepEqual(planSource(15, [15], true), { kind: "distribution" });
    assert.deepEqual(planSource(16, [15], true), { kind: "npm", version: NPM_BUILDS[16] });
    assert.match((planSource(16, [15], false) as { error: string }).error, /no tool cache/);
    assert.match((planSource(13, [15], true) as { error: string }).error, /provides PostgreSQL 14, 15, 16, 17, 18; 13 is none of them/);
    for (const m of POSTGRES_MAJORS) assert.ok(NPM_BUILDS[m], `an npm build is pinned for ${m}`);
  });
});
