/**
 * `berth db upgrade <db> --to <major>` (issue 14): records the db-upgrade operation and follows
 * it. The only way a database changes PostgreSQL major; a blueprint edit never does.
 */
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import type { CliContext } from "../context.ts";
import { describeOperation, type OperationOut, requireSucceeded, waitForOperation } from "../operation-wait.ts";
import { outFor, printJson, progress } from "../output.ts";
import { projectOf } from "./env.ts";

interface UpgradeOut {
  from: number;
  to: number;
  previous: string;
  instance: string;
  port: number;
  tables: number;
  ms: number;
  rolling: string[];
}

/** Adds `upgrade` to the `berth db` command. */
export function registerDbUpgrade(db: Command, ctx: CliContext): void {
  db.command("upgrade <name>")
    .description("move the database to a newer PostgreSQL major: a copy into a new server, the old one kept (owner role)")
    .requiredOption("--to <major>", "the PostgreSQL major to move to, e.g. 16")
    .option("--project <name>", "project (default: from ./berth.yaml)")
    .option("--env <name>", "environment", "production")
    .option("--no-wait", "record the operation and print its id")
    .option("--json", "machine-readable output")
    .action(async (name: string, opts: { to: string; project?: string; env: string; wait: boolean; json?: boolean }) => {
      const to = Number(opts.to);
      if (!Number.isInteger(to)) throw new BerthError("BERTH_USAGE", { detail: `--to takes a major version such as 16, not '${opts.to}'` });
      const client = ctx.client();
      const enc = encodeURIComponent;
      let op = await client.request<OperationOut>("POST", `/v1/projects/${enc(projectOf(opts))}/environments/${enc(opts.env)}/databases/${enc(name)}/upgrades`, { to });
      if (!opts.wait) {
        if (opts.json) return printJson(op);
        process.stdout.write(`${op.id}\n`);
        return;
      }
      const p = progress(outFor(opts));
      op = await waitForOperation(client, op.id, (line) => p.update(line));
      if (opts.json) return printJson(op);
      requireSucceeded(op);
      const r = op.result as UpgradeOut;
      p.done(`${name}: PostgreSQL ${r.from} -> ${r.to} (${describeOperation(op).split(":")[0]}): server ${r.instance} on port ${r.port}, ${r.tables} table(s) copied and compared in ${r.ms} ms; ${r.rolling.length ? `${r.rolling.join(", ")} roll onto it` : "no service uses it"}; the ${r.from} server ${r.previous} is kept (read-only, stops once unused)`);
    });
}
