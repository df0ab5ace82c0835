import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { BerthError } from "../core/errors.ts";
import { open, parseEnvelope, seal } from "./aead.ts";

const key = randomBytes(32);
const fields = ["prj_1", 1, "value", "production", "service:api", "JWT_SECRET"];

function flip(text: string, partIndex: number): string {
  const parts = text.split(":");
  const buf = Buffer.from(parts[partIndex]!, "base64url");
  buf[buf.length >> 1]! ^= 0x01;
  parts[partIndex] = buf.toString("base64url");
  return parts.join(":");
}

describe("aead", () => {
  test("round trip, with the key id in clear and a fresh iv every time", () => {
    const a = seal("bv1", "dk_abc", key, Buffer.from("hunter2-canary"), fields);
    const b = seal("bv1", "dk_abc", key, Buffer.from("hunter2-canary"), fields);
    assert.match(a, /^bv1:dk_abc:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    assert.notEqual(a, b);
    assert.equal(open(parseEnvelope(a, "x", "bv1"), key, fields)?.toString(), "hunter2-canary");
    assert.ok(!a.includes("hunter2"));
  });

  test("a flipped bit in the ciphertext or iv fails authentication", () => {
    const text = seal("bv1", "dk_abc", key, Buffer.from("some secret value"), fields);
    assert.equal(open(parseEnvelope(flip(text, 3), "x", "bv1"), key, fields), undefined);
    assert.equal(open(parseEnvelope(flip(text, 2), "x", "bv1"), key, fields), undefined);
  });

  test("different associated data (another variable, project, version or key id) fails", () => {
    const text = seal("bv1", "dk_abc", key, Buffer.from("v"), fields);
    const env = parseEnvelope(text, "x", "bv1");
    assert.equal(open(env, key, [...fields.slice(0, 5), "OTHER_NAME"]), undefined);
    assert.equal(open(env, key, ["prj_2", ...fields.slice(1)]), undefined);
    assert.equal(open(env, key, ["prj_1", 2, ...fields.slice(2)]), undefined);
    assert.equal(open(parseEnvelope(text.replace("dk_abc", "dk_abd"), "x", "bv1"), key, fields), undefined);
    assert.equal(open(env, randomBytes(32), fields), undefined);
  });

  test("malformed and foreign texts are rejected with BERTH_SECRETS_FORMAT, naming no content", () => {
    const text = seal("bv1", "dk_abc", key, Buffer.from("v"), fields);
    for (const bad of ["plain-text-secret", text.replace("bv1", "bv9"), `${text}:extra`, text.slice(0, text.lastIndexOf(":") + 4), "bv1:dk:!!:??"]) {
      assert.throws(
        () => parseEnvelope(bad, "secret X", "bv1"),
        (e: unknown) => e instanceof BerthError && e.code === "BERTH_SECRETS_FORMAT" && !e.message.includes("plain-text-secret"),
      );
    }
    assert.throws(() => parseEnvelope(text, "sealed env", "bs1"), /format bv1 where bs1 was expected/);
  });
});
