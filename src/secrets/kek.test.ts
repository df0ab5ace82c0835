import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BerthError } from "../core/errors.ts";
import { formatKekFile, kekId, loadKeks, newKek, parseKeks } from "./kek.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-kek-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("key-encryption key", () => {
  test("a missing key file is created with mode 0600 and a backup warning", () => {
    const path = join(dir, "new", "kek");
    const loaded = loadKeks({ kind: "file", path });
    assert.equal(loaded.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(loaded.warnings[0]!, /BACK IT UP/);
    assert.match(readFileSync(path, "utf8"), /BACK THIS FILE UP/);
    const again = loadKeks({ kind: "file", path });
    assert.equal(again.created, false);
    assert.deepEqual(again.warnings, []);
    assert.equal(again.keks[0]!.id, loaded.keks[0]!.id);
  });

  test("a key file readable by others loads with a warning", () => {
    const path = join(dir, "loose");
    writeFileSync(path, formatKekFile([newKek()]));
    chmodSync(path, 0o644);
    assert.match(loadKeks({ kind: "file", path }).warnings[0]!, /chmod 600/);
  });

  test("values: several keys, current first, base64 or base64url, comma or newline separated", () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const keks = parseKeks(`${a.toString("base64")},\n${b.toString("base64url")}`, "BERTH_KEK");
    assert.deepEqual(
      keks.map((k) => k.id),
      [kekId(a), kekId(b)],
    );
    assert.match(kekId(a), /^kek-[0-9a-f]{16}$/);
  });

  test("bad keys are refused with BERTH_SECRETS_KEK_INVALID, not echoed", () => {
    for (const bad of ["", "# only a comment", "not base64 !!", randomBytes(16).toString("base64")]) {
      assert.throws(
        () => parseKeks(bad, "BERTH_KEK"),
        (e: unknown) => e instanceof BerthError && e.code === "BERTH_SECRETS_KEK_INVALID" && (bad.length < 4 || !e.message.includes(bad)),
      );
    }
  });
});
