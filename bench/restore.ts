/**
 * Restore throughput against a raw pg_basebackup of the same data.
 *
 *   node bench/restore.ts [sizeMB=150] [rounds=3]
 *
 * Baseline: `pg_basebackup -X stream -c fast` of the live server into a fresh directory
 * (bytes / second). Berth: `restore({ kind: "backup" })` of a verified base backup of that
 * server into a new instance (pg_verifybackup + copy + recovery + promotion), bytes / second;
 * also without the pre-restore verification. Medians of `rounds`. Goal: ratio >= 0.8.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventInput } from "../src/core/events.ts";
import { runAsFor, runProgram } from "../src/data/proc.ts";
import { mkdirOwned, sizeOf } from "../src/data/files.ts";
import { PostgresProvider } from "../src/data/postgres/provider.ts";

const sizeMb = Number(process.argv[2] ?? 150);
const rounds = Number(process.argv[3] ?? 3);
const root = mkdtempSync(join(tmpdir(), "berth-bench-restore-"));
chmodSync(root, 0o711);
const sink = { emit: (_e: EventInput) => {} };
const provider = new PostgresProvider({ environment: "bench", rootDir: join(root, "pg"), storeDir: join(root, "store"), events: sink });
const runAs = runAsFor("postgres");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);

try {
  await provider.provision({ name: "bench" });
  const admin = provider.adminEndpoint()!;
  const psql = (sql: string) => runProgram(admin.psql, ["-h", admin.socketDir, "-p", String(admin.port), "-U", "postgres", "-d", "bench", "-v", "ON_ERROR_STOP=1", "-c", sql], { name: "bench", runAs });
  // ~1 KB rows; fillfactor 100. Rows = sizeMb * 1000 gives roughly sizeMb MB of heap.
  await psql(`CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 30) AS body FROM generate_series(1, ${sizeMb * 1000}) g`);
  await psql("CHECKPOINT");

  const raw: number[] = [];
  const restored: number[] = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const dir = join(root, `raw-${i}`);
    mkdirOwned(dir, 0o700, runAs);
    // Flush dirty pages first so neither side pays for the other's writeback.
    await runProgram("sync", [], { name: "bench" });
    const t0 = performance.now();
    await runProgram(join(admin.psql, "..", "pg_basebackup"), ["-D", dir, "-X", "stream", "-c", "fast", "-h", admin.socketDir, "-p", String(admin.port), "-U", "postgres"], { name: "bench", runAs });
    const rawMs = performance.now() - t0;
    bytes = sizeOf(dir);
    rmSync(dir, { recursive: true, force: true });
    raw.push(mbps(bytes, rawMs));

    const backup = await provider.backup("bench");
    await runProgram("sync", [], { name: "bench" });
    const t1 = performance.now();
    const r = await provider.restore("bench", { kind: "backup", backup: backup.id }, { mode: "keep" });
    restored.push(mbps(backup.sizeBytes, performance.now() - t1));
    await provider.discardRestore(r.restore);
    console.log(`round ${i + 1}: data ${(bytes / 1024 / 1024).toFixed(0)} MB, pg_basebackup ${raw.at(-1)!.toFixed(0)} MB/s, restore ${restored.at(-1)!.toFixed(0)} MB/s (${r.ms} ms)`);
  }
  const ratio = median(restored) / median(raw);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
  console.log(`range: pg_basebackup ${range(raw)} MB/s, restore ${range(restored)} MB/s`);
  console.log(`\nmedian of ${rounds}: pg_basebackup ${median(raw).toFixed(0)} MB/s, Berth restore ${median(restored).toFixed(0)} MB/s, ratio ${ratio.toFixed(2)}x (goal >= 0.8x)`);
} finally {
  await provider.stop();
  rmSync(root, { recursive: true, force: true });
}
