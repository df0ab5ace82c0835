/** Sealed release envs: all or nothing, bound to their project (and service when scoped). */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BerthError } from "../../src/core/errors.ts";
import type { EnvOpener } from "../../src/engine/engine.ts";
import type { Secrets } from "../../src/secrets/index.ts";
import { envOpener, openEnv, resealEnv, rotateDataKey, sealEnv } from "../../src/secrets/index.ts";
import type { Fixture } from "./fixture.ts";
import { fixture } from "./fixture.ts";

const ENV = { DATABASE_URL: "postgres://app:sealed-pw@127.0.0.1/app", JWT_SECRET: "sealed-jwt", PORT: "3801", EMPTY: "" };
const corrupt = (e: unknown) => e instanceof BerthError && e.code === "BERTH_ENV_SEALED_CORRUPT";

describe("sealed envs", () => {
  let f: Fixture;
  let s: Secrets;
  before(() => {
    f = fixture();
    s = f.open();
  });
  after(() => f.close());

  const release = (sealedEnv: string, project = "reminders", service = "api") => ({
    id: "rel_1",
    number: 7,
    service: { project, environment: "production", service },
    sealedEnv,
  });
  const projectIds = (name: string) => (name === f.project.name ? f.project.id : undefined);

  test("round trip through the engines' EnvOpener; nothing readable in the sealed text", async () => {
    const sealed = sealEnv(s.keyring, f.project, ENV, { environment: "production", service: "api" });
    assert.match(sealed, /^bs1:dk_[a-z0-9]+:/);
    assert.ok(!sealed.includes("sealed-jwt"));
    assert.deepEqual(await envOpener(s.keyring, projectIds)(release(sealed)), ENV);
    // It is the engines' EnvOpener as it is (checked by the typechecker).
    const opener: EnvOpener = envOpener(s.keyring, projectIds);
    assert.equal(typeof opener, "function");
  });

  test("any corrupted byte fails the whole env with BERTH_ENV_SEALED_CORRUPT", async () => {
    const sealed = sealEnv(s.keyring, f.project, ENV);
    const body = sealed.split(":")[3]!;
    for (const at of [0, Math.floor(body.length / 2), body.length - 2]) {
      const ch = body[at] === "A" ? "B" : "A";
      const bad = sealed.slice(0, sealed.length - body.length) + body.slice(0, at) + ch + body.slice(at + 1);
      await assert.rejects(envOpener(s.keyring, projectIds)(release(bad)), corrupt);
    }
    await assert.rejects(envOpener(s.keyring, projectIds)(release("")), corrupt);
    await assert.rejects(envOpener(s.keyring, projectIds)(release(sealed.replace(/dk_[a-z0-9]+/, "dk_missing"))), corrupt);
    assert.throws(() => openEnv(s.keyring, `${sealed}x`), (e: unknown) => corrupt(e) && /release/.test((e as Error).message));
  });

  test("a snapshot handed to another project's or another service's release is refused", async () => {
    const other = f.addProject("intruder");
    const foreign = sealEnv(s.keyring, other, ENV);
    await assert.rejects(envOpener(s.keyring, projectIds)(release(foreign)), (e: unknown) => corrupt(e) && /another project/.test((e as Error).message));
    const scoped = sealEnv(s.keyring, f.project, ENV, { environment: "production", service: "api" });
    await assert.rejects(envOpener(s.keyring, projectIds)(release(scoped, "reminders", "worker")), /another service/);
  });

  test("after a data-key rotation old releases still open, and reseal moves them to the new key", async () => {
    const sealed = sealEnv(s.keyring, f.project, ENV);
    const oldKey = sealed.split(":")[1];
    const rotation = rotateDataKey({ keyring: s.keyring, store: s.store }, f.project, "alice");
    assert.deepEqual(openEnv(s.keyring, sealed).env, ENV);
    const resealed = resealEnv(s.keyring, f.project, sealed);
    assert.equal(resealed.split(":")[1], rotation.keyId);
    assert.notEqual(oldKey, rotation.keyId);
    assert.deepEqual(await envOpener(s.keyring, projectIds)(release(resealed)), ENV);
  });
});
