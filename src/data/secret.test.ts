import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generatePassword, redact, scramVerifier } from "./secret.ts";

describe("secrets of managed data", () => {
  test("generated passwords are 32 url-safe characters and differ", () => {
    const a = generatePassword();
    assert.match(a, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(a, generatePassword());
  });

  test("the SCRAM verifier matches PostgreSQL's format and hides the password", () => {
    const v = scramVerifier("hunter2", Buffer.alloc(16, 1), 4096);
    assert.match(v, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    assert.equal(v.includes("hunter2"), false);
    assert.equal(v, scramVerifier("hunter2", Buffer.alloc(16, 1), 4096));
  });

  test("redact removes known secrets and passwords inside URLs", () => {
    assert.equal(redact("postgresql://app:s3cret@127.0.0.1:5/app failed", []), "postgresql://app:***@127.0.0.1:5/app failed");
    assert.equal(redact("password is abc123", ["abc123"]), "password is ***");
  });
});
