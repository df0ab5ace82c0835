/**
 * Disaster recovery: a database rebuilt on a fresh machine from nothing but a copy of its
 * backup stores (base backups + WAL archive + lineage). This module finds the stores in what
 * the user hands over and copies them in; the provider then restores `latest` across them from
 * the archive alone, promotes the result and drills it.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { type RunAs, runProgram } from "../proc.ts";
import { BackupStore } from "./store.ts";

const isStore = (dir: string) => existsSync(join(dir, "base")) && existsSync(join(dir, "wal"));

/**
 * The stores under `dir`: `dir` itself, its children, or `<dir>/<project>/<environment>/postgres/*`
 * (a copy of Berth's whole backups directory). Throws naming what was looked for.
 */
export function findStores(dir: string, where: { readonly project: string; readonly environment: string }): BackupStore[] {
  const root = resolve(dir);
  if (!existsSync(root)) throw new BerthError("BERTH_DATA_RECOVER_SOURCE_INVALID", { path: root, detail: "it does not exist" });
  for (const parent of [join(root, where.project, where.environment, "postgres"), join(root, "postgres"), root]) {
    if (isStore(parent)) return [new BackupStore(parent)];
    if (!existsSync(parent)) continue;
    const stores = readdirSync(parent, { withFileTypes: true })
      .filter((d) => d.isDirectory() && isStore(join(parent, d.name)))
      .map((d) => new BackupStore(join(parent, d.name)));
    if (stores.length > 0) return stores;
  }
  throw new BerthError("BERTH_DATA_RECOVER_SOURCE_INVALID", {
    path: root,
    detail: `no backup store in it (a directory with base/ and wal/, its parent, or Berth's backups directory holding ${where.project}/${where.environment}/postgres/)`,
  });
}

/**
 * Copies stores into `storeDir`; a store already there is left as is. A copy made by hand
 * usually belongs to whoever made it: every store is handed to the server's OS user (`runAs`),
 * which reads backups and WAL during the restore.
 */
export async function importStores(stores: readonly BackupStore[], storeDir: string, name: string, runAs: RunAs | undefined): Promise<string[]> {
  const copied: string[] = [];
  for (const s of stores) {
    const to = join(storeDir, s.instance);
    if (resolve(s.root) !== resolve(to) && !existsSync(to)) {
      await runProgram("cp", ["-a", s.root, to], { name, timeoutMs: 6 * 3_600_000 });
      copied.push(s.instance);
    }
    if (runAs) await runProgram("chown", ["-R", `${runAs.uid}:${runAs.gid}`, to], { name, timeoutMs: 3_600_000 });
    await runProgram("chmod", ["-R", "u+rwX,go-rwx", to], { name, timeoutMs: 3_600_000 });
  }
  return copied;
}
