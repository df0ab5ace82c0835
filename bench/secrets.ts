/**
 * Secrets figures: set, self-test, both rotations with 1,000 stored secrets, and redaction
 * throughput with 100 secrets. Run: node bench/secrets.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { SecretOwner } from "../src/secrets/index.ts";
import { generateSecretValue, newKek, openSecrets, Redactor, rotateDataKey, rotateKek } from "../src/secrets/index.ts";
import { openDb } from "../src/store/db.ts";
import { EnvGroupRepository } from "../src/store/repositories/env-groups.ts";
import { ProjectRepository } from "../src/store/repositories/projects.ts";
import { SecretRepository } from "../src/store/repositories/secrets.ts";

const N = 1000;
const dir = mkdtempSync(join(tmpdir(), "berth-secrets-bench-"));
try {
  const db = openDb(join(dir, "berth.db"));
  const rows = new SecretRepository(db);
  const groups = new EnvGroupRepository(db);
  const project = new ProjectRepository(db).upsert("bench", { kind: "dir", path: "/srv/bench" }, new Date().toISOString());
  const kek = { kind: "file" as const, path: join(dir, "kek") };
  const time = <T>(label: string, fn: () => T): T => {
    const t0 = performance.now();
    const r = fn();
    console.log(`${label}: ${(performance.now() - t0).toFixed(1)} ms`);
    return r;
  };
  const s = openSecrets({ rows, groups, kek });
  time(`set ${N} secrets`, () => {
    for (let i = 0; i < N; i++) s.store.set({ project, environment: "production", owner: "service:api" as SecretOwner, name: `S_${i}` }, generateSecretValue(), "bench");
  });
  time(`start-up (load KEK + self-test of ${N} values)`, () => openSecrets({ rows, groups, kek }));
  time(`openAll (decrypt ${N} for a deploy)`, () => s.store.openAll(project, "production"));
  time(`data-key rotation (re-encrypt ${N})`, () => rotateDataKey({ keyring: s.keyring, store: s.store }, project, "bench"));
  time("KEK rotation (re-wrap data keys, rewrite key file twice)", () => rotateKek({ keyring: s.keyring }, s.kek, "bench", newKek()));

  const values = s.store.allValues().slice(0, 100);
  const redactor = time("build redactor (100 secrets, all variants)", () => new Redactor(values));
  const line = `2026-01-01T00:00:00Z api info GET /v1/items?id=42 200 12ms user=alice token=${"x".repeat(40)}\n`;
  const text = line.repeat(Math.ceil((10 * 1024 * 1024) / line.length)) + values[7]!.value;
  const t0 = performance.now();
  const out = redactor.redact(text);
  const ms = performance.now() - t0;
  console.log(`redact 10 MB of log text: ${ms.toFixed(0)} ms (${(text.length / 1024 / 1024 / (ms / 1000)).toFixed(0)} MB/s), masked: ${out.endsWith("]")}`);
  const stream = redactor.stream();
  const t1 = performance.now();
  for (let i = 0; i < text.length; i += 4096) stream.write(text.slice(i, i + 4096));
  stream.end();
  const ms2 = performance.now() - t1;
  console.log(`stream-redact 10 MB in 4 KiB chunks: ${ms2.toFixed(0)} ms (${(text.length / 1024 / 1024 / (ms2 / 1000)).toFixed(0)} MB/s)`);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
