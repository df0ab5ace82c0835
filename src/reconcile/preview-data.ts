/**
 * Issue 19, `fork` preview data (the effectful half): each database the preview shares with its
 * parent environment is restored point-in-time (Berth's PITR: a `keep` restore beside the
 * parent's live server, which is never touched), copied into the preview's own server, the kept
 * restore discarded; each key-value store it shares gets a consistent RDB snapshot of the
 * parent's Redis (replication protocol, read-only for the parent) loaded into its own server;
 * and then the declared scrub step runs. Only when every step succeeded does
 * the caller record the preview's services, so a failure leaves it without traffic.
 *
 * The settings (what to fork, the scrub) come from the PARENT's recorded blueprint, and a scrub
 * command runs in the parent's source — never the pull request's: a pull request must not be able
 * to turn the scrub into a no-op and read real data.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Blueprint, PreviewData } from "../blueprint/types.ts";
import { runProgram } from "../data/proc.ts";
import type { RestoreTarget } from "../data/provider.ts";
import type { EnvironmentRow } from "../store/repositories/environments.ts";
import type { ResourceManager } from "./resources.ts";

export type ForkOutcome = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly step: "fork" | "scrub"; readonly detail: string };

export interface ForkInput {
  readonly parent: EnvironmentRow;
  readonly preview: EnvironmentRow;
  readonly data: Extract<PreviewData, { mode: "fork" }>;
  /** The restore's id prefix (the preview's id): a resumed attempt finds its own work. */
  readonly id: string;
  /** Where a scrub command runs: the parent's source directory. */
  readonly trustedDir: string | undefined;
  readonly now: () => number;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Forks the parent's databases into the preview's (already provisioned) servers, then scrubs. */
export async function forkPreviewData(resources: ResourceManager, f: ForkInput): Promise<ForkOutcome> {
  const parentDbs = new Set((f.parent.blueprint as Blueprint).databases.map((d) => d.name));
  const names = (f.preview.blueprint as Blueprint).databases.map((d) => d.name).filter((n) => parentDbs.has(n));
  const parentKvs = new Set((f.parent.blueprint as Blueprint).keyValues.map((k) => k.name));
  const kvNames = (f.preview.blueprint as Blueprint).keyValues.map((k) => k.name).filter((n) => parentKvs.has(n));
  if (names.length === 0 && kvNames.length === 0) return { ok: false, step: "fork", detail: `${f.parent.name} has none of the preview's databases or key-value stores` };
  await resources.ready(f.parent);
  const { pg: parentPg, redis: parentRedis } = await resources.providers(f.parent);
  const { pg: previewPg, redis: previewRedis } = await resources.providers(f.preview);
  const work = mkdtempSync(join(tmpdir(), "berth-fork-"));
  chmodSync(work, 0o711); // the servers' OS user enters it to its own subdirectory
  const copied: string[] = [];
  try {
    for (const name of names) {
      const db = (f.parent.blueprint as Blueprint).databases.find((d) => d.name === name)!;
      let target: RestoreTarget;
      try {
        const bases = (await parentPg.backups(name)).filter((b) => b.kind === "base" && b.verified);
        if (db.pitrWindowMs !== undefined && bases.length > 0) {
          // The point in time: now. Rows the parent committed before it are in the copy.
          target = { kind: "time", at: new Date(f.now()).toISOString() };
        } else {
          // No archive to replay (or nothing to start from yet): a fresh base backup is the point.
          const fresh = await parentPg.backup(name);
          target = db.pitrWindowMs !== undefined ? { kind: "time", at: new Date(Math.max(f.now(), Date.parse(fresh.finishedAt) + 1)).toISOString() } : { kind: "backup", backup: fresh.id };
        }
        const restore = await parentPg.restore(name, target, { mode: "keep", id: `rst-${f.id}-${name}`.slice(0, 60) });
        try {
          await previewPg.forkFrom(parentPg, restore.restore, name, join(work, name, `${name}.sql`), 30 * 60_000);
        } finally {
          await parentPg.discardRestore(restore.restore).catch(() => {});
        }
        copied.push(`${name} at ${target.kind === "time" ? target.at : target.kind === "backup" ? `backup ${target.backup}` : "latest"}`);
      } catch (e) {
        return { ok: false, step: "fork", detail: `${name}: ${message(e)}` };
      }
    }
    // Key-value stores (issue 19): a consistent RDB snapshot of the parent's server over the
    // replication protocol, loaded into the preview's own server (redis/provider.ts forkFrom).
    for (const name of kvNames) {
      try {
        const parentPassword = resources.password(f.parent, "kv", name);
        const previewPassword = resources.password(f.preview, "kv", name);
        if (!parentPassword || !previewPassword) throw new Error("no stored password (not provisioned yet)");
        const source = await parentRedis.connection(name, parentPassword);
        const r = await previewRedis.forkFrom({ host: source.host, port: source.port, password: parentPassword }, name, previewPassword, join(work, `${name}.rdb`));
        copied.push(`${name} (${r.keys} keys)`);
      } catch (e) {
        return { ok: false, step: "fork", detail: `${name}: ${message(e)}` };
      }
    }
    // The promoted Redis servers listen on new ports: their URLs are registered for redaction.
    if (kvNames.length > 0) await resources.ensureNow(f.preview);
    const scrub = f.data.scrub;
    if (!scrub) return { ok: true, detail: `forked ${copied.join(", ")}; no scrub step declared` };
    try {
      if (scrub.kind === "sql") {
        await previewPg.runSql(scrub.database, scrub.sql, scrub.timeoutMs);
      } else {
        if (!f.trustedDir) throw new Error(`no source of ${f.parent.name} to run the scrub command in`);
        const url = (await resources.values(f.preview)).databases[scrub.database]?.connectionString;
        if (!url) throw new Error(`database ${scrub.database} has no connection yet`);
        const [program, ...args] = scrub.argv;
        await runProgram(program!, args, { name: `scrub ${scrub.database}`, cwd: f.trustedDir, env: { DATABASE_URL: url, BERTH_PREVIEW: "true" }, timeoutMs: scrub.timeoutMs, secrets: [url] });
      }
    } catch (e) {
      return { ok: false, step: "scrub", detail: message(e) };
    }
    return { ok: true, detail: `forked ${copied.join(", ")}; scrubbed (${scrub.kind})` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
