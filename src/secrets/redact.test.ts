import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Redactor } from "./redact.ts";

const CANARY = "c4n4ry-S3cr3t/v@lue+1";
const r = new Redactor([
  { name: "CANARY", value: CANARY },
  { name: "DB_PASSWORD", value: "pg pass&word" },
  { name: "TINY", value: "ab" },
  { name: "PEM", value: "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----" },
]);

function hasNoSecrets(text: string): void {
  assert.ok(!text.includes(CANARY), `canary leaked: ${text}`);
  assert.ok(!text.includes(encodeURIComponent(CANARY)), `url-encoded canary leaked: ${text}`);
}

describe("Redactor", () => {
  test("masks every occurrence, naming the variable", () => {
    assert.equal(r.redact(`a ${CANARY} b ${CANARY}`), "a [redacted:CANARY] b [redacted:CANARY]");
  });

  test("masks URL-encoded forms (path and form style) inside URLs", () => {
    const url = `postgres://app:${encodeURIComponent("pg pass&word")}@db:5432/app?token=${encodeURIComponent(CANARY)}`;
    const out = r.redact(url);
    assert.equal(out, "postgres://app:[redacted:DB_PASSWORD]@db:5432/app?token=[redacted:CANARY]");
    assert.equal(r.redact(`q=${encodeURIComponent("pg pass&word").replace(/%20/g, "+")}`), "q=[redacted:DB_PASSWORD]");
    assert.equal(r.redact(`x=${encodeURIComponent(CANARY).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())}`), "x=[redacted:CANARY]");
  });

  test("masks JSON-escaped and base64 forms, also base64 embedded at any alignment", () => {
    hasNoSecrets(r.redact(JSON.stringify({ env: { X: `${CANARY}"quoted"` } })));
    const b64 = Buffer.from(CANARY).toString("base64");
    assert.equal(r.redact(`Authorization: Bearer ${b64}`), "Authorization: Bearer [redacted:CANARY]");
    for (const user of ["u", "us", "usr", "admin"]) {
      const basic = Buffer.from(`${user}:${CANARY}`).toString("base64");
      const out = r.redact(`Authorization: Basic ${basic}`);
      assert.match(out, /\[redacted:CANARY\]/, `user ${user}: ${out}`);
      // Whatever is left of the token can no longer be decoded back to the canary.
      assert.ok(!Buffer.from(out.split(" ").pop()!, "base64").toString().includes(CANARY));
    }
  });

  test("short values are not masked (that would mask ordinary text) and are reported", () => {
    assert.deepEqual(r.skipped, ["TINY"]);
    assert.equal(r.redact("abc tab"), "abc tab");
  });

  test("multi-line values are masked line by line, so line-oriented logs are safe", () => {
    assert.equal(r.redact("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "[redacted:PEM]");
  });

  test("the longest match wins when one value contains another", () => {
    const nested = new Redactor([
      { name: "SHORT", value: "abcdef" },
      { name: "LONG", value: "xxabcdefyy" },
    ]);
    assert.equal(nested.redact("1 xxabcdefyy 2 abcdef"), "1 [redacted:LONG] 2 [redacted:SHORT]");
  });

  test("values with regex metacharacters are matched literally", () => {
    const meta = new Redactor([{ name: "M", value: "a.b*c(d)[e]$^|\\" }]);
    assert.equal(meta.redact("x a.b*c(d)[e]$^|\\ y aXbbc"), "x [redacted:M] y aXbbc");
  });

  test("redactDeep masks strings and keys inside objects and arrays, leaving other values", () => {
    const out = r.redactDeep({ message: `failed: ${CANARY}`, list: [CANARY, 3, true, null], [CANARY]: 1 });
    assert.deepEqual(out, { message: "failed: [redacted:CANARY]", list: ["[redacted:CANARY]", 3, true, null], "[redacted:CANARY]": 1 });
  });

  test("a stream masks values split across chunks at every possible split point", () => {
    const text = `log start ${CANARY} middle ${encodeURIComponent(CANARY)} end ${CANARY}`;
    const expected = r.redact(text);
    for (let size = 1; size <= text.length; size++) {
      const s = r.stream();
      let out = "";
      for (let i = 0; i < text.length; i += size) out += s.write(text.slice(i, i + size));
      out += s.end();
      assert.equal(out, expected, `chunk size ${size}`);
    }
    for (let cut = 0; cut <= text.length; cut++) {
      const s = r.stream();
      const out = s.write(text.slice(0, cut)) + s.write(text.slice(cut)) + s.end();
      assert.equal(out, expected, `cut at ${cut}`);
    }
  });

  test("an empty redactor passes text through, streams included", () => {
    const none = new Redactor([]);
    assert.equal(none.redact("anything"), "anything");
    const s = none.stream();
    assert.equal(s.write("abc") + s.end(), "abc");
  });
});
