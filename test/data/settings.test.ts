/**
 * The blueprint's backup settings are honoured on a real server: `pitr: false` turns the WAL
 * archive off, `backups: false` takes no scheduled backup, and both false leave upkeep nothing
 * to do; changing them restarts the server with the reason.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { PostgresProvider } from "../../src/data/postgres/provider.ts";
import { RecordingSink, tempRoot } from "./helpers.ts";

describe("backup settings from the blueprint", () => {
  const root = tempRoot("berth-settings-");
  const events = new RecordingSink();
  const provider = new PostgresProvider({ environment: "test", rootDir: join(root.dir, "pg"), storeDir: join(root.dir, "store"), events, monitorIntervalMs: 0 });
  const conf = () => readFileSync(join(dirname(provider.adminEndpoint()!.socketDir), "data", "berth.conf"), "utf8");
  after(async () => {
    await provider.stop();
    root.cleanup();
  });

  test("backups: false and pitr: false: no archive, no scheduled backup, nothing for upkeep", async () => {
    const p = await provider.provision({ name: "db", backups: false, pitr: false });
    assert.match(conf(), /archive_mode = off/);
    assert.deepEqual(await provider.tick("db"), []);
    assert.deepEqual(await provider.backups("db"), []);
    // A backup on demand still works (and restores without WAL).
    const b = await provider.backup("db");
    const r = await provider.restore("db", { kind: "backup", backup: b.id }, { mode: "keep" });
    await provider.discardRestore(r.restore);
    const list = (await provider.list())[0]!;
    assert.equal(list.archiving, "off");
    // Turning PITR on restarts the server with the reason, and upkeep starts backing up.
    await provider.provision({ name: "db", backups: false, pitr: true }, { password: p.connection.password });
    assert.match(conf(), /archive_mode = on/);
    assert.match(events.of("data:restarting").at(-1)!.data.reason, /archive_mode off -> on/);
    assert.match(events.of("data:warning").at(-1)!.data.message, /backups: false with pitr on/);
    const duties = await provider.tick("db");
    assert.deepEqual(
      duties.map((d) => [d.duty, d.ok]),
      [
        ["check-archive", true],
        ["backup", true],
        ["prune", true],
        ["point", true],
      ],
      "a backup taken without the archive cannot start a replay: a new one is due at once",
    );
    assert.equal((await provider.drill("db")).ok, true);
    // The backup from before still restores as itself.
    assert.equal((await provider.backups("db")).find((x) => x.id === b.id)?.pitr, false);
    assert.ok(readdirSync(join(root.dir, "store")).length >= 1);
  });
});
