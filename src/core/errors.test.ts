import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { renderErrorsDoc } from "./errors-doc.ts";
import { BerthError, catalogue, renderTemplate } from "./errors.ts";

test("docs/errors.md matches the catalogue (run `npm run docs:gen` after changing codes)", () => {
  const committed = readFileSync(join(import.meta.dirname, "..", "..", "docs", "errors.md"), "utf8");
  assert.equal(committed, renderErrorsDoc());
});

test("every catalogue entry has a BERTH_ code, a message, a hint, an HTTP status and an exit code", () => {
  for (const [code, spec] of Object.entries(catalogue)) {
    assert.match(code, /^BERTH_[A-Z0-9_]+$/, code);
    assert.ok(spec.message.length > 0 && spec.hint.length > 0, `${code} needs a message and a hint`);
    assert.ok(spec.http >= 200 && spec.http < 600, `${code}: http ${spec.http}`); // warnings carry 200
    // Warnings (HTTP 200) do not fail a command: exit 0. Every error exits non-zero.
    assert.ok(Number.isInteger(spec.exit) && spec.exit <= 125 && (spec.exit >= 1 || spec.http < 400), `${code}: exit ${spec.exit}`);
  }
});

test("BerthError fills message and hint templates from params", () => {
  const e = new BerthError("BERTH_FORBIDDEN", { token: "ci", role: "viewer", action: "deploy", required: "deployer" });
  assert.equal(e.message, "token 'ci' with role viewer may not deploy");
  assert.match(e.hint, /deployer/);
  assert.equal(e.status, 403);
  assert.equal(e.exitCode, 3);
  assert.deepEqual(Object.keys(e.toJSON()), ["code", "message", "hint"]);
});

test("unknown template names stay visible instead of vanishing", () => {
  assert.equal(renderTemplate("a {x} b {y}", { x: 1 }), "a 1 b {y}");
});
