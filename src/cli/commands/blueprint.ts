/**
 * Local blueprint commands (no daemon needed): `berth validate [file]`, `berth import <file>`
 * and `berth schema`. Exit codes come from the error catalogue: 2 for an invalid blueprint,
 * 4 for a missing file, 5 when `import -o` would overwrite a file without --force.
 */
import { existsSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { BerthError } from "../../core/errors.ts";
import { type Diagnostic, blueprintJsonSchema, loadBlueprintFile, resolveEnvironment } from "../../blueprint/index.ts";
import { importFile } from "../../blueprint/importers/index.ts";
import { outFor, paint, printJson, type Out } from "../output.ts";

function formatDiagnostic(d: Diagnostic, out: Out, level: "error" | "warning"): string {
  const tag = paint(out, level === "error" ? "red" : "yellow", level);
  return `${d.file}:${d.line}:${d.column}  ${tag}: ${d.message}\n      ${paint(out, "dim", `hint: ${d.hint}`)}`;
}

export function registerBlueprintCommands(program: Command): void {
  program
    .command("validate")
    .description("check a blueprint (default ./berth.yaml) and list every problem with its line and a hint")
    .argument("[file]", "blueprint file", "berth.yaml")
    .option("--env <name>", "also resolve this environment's overrides (prints its services with --json)")
    .option("--json", "machine-readable output")
    .action(async (file: string, opts: { json?: boolean; env?: string }) => {
      const result = await loadBlueprintFile(file);
      const out = outFor(opts, process.stderr);
      // An unknown environment throws BERTH_BLUEPRINT_ENVIRONMENT_UNKNOWN (exit 4) with the known names.
      const resolved = result.ok && opts.env ? resolveEnvironment(result.blueprint, opts.env) : result.ok ? result.blueprint : undefined;
      if (opts.json) {
        printJson(result.ok ? { ok: true, warnings: result.warnings, blueprint: { ...resolved, source: undefined } } : result);
        if (!result.ok) process.exitCode = new BerthError("BERTH_BLUEPRINT_INVALID", { file, count: result.errors.length }).exitCode;
        return;
      }
      for (const w of result.warnings) process.stderr.write(`${formatDiagnostic(w, out, "warning")}\n`);
      if (!result.ok) {
        for (const e of result.errors) process.stderr.write(`${formatDiagnostic(e, out, "error")}\n`);
        process.stderr.write(`${paint(out, "red", `${result.errors.length} error(s)`)} in ${file}\n`);
        process.exitCode = new BerthError("BERTH_BLUEPRINT_INVALID", { file, count: result.errors.length }).exitCode;
        return;
      }
      const bp = resolved ?? result.blueprint;
      if (opts.env) {
        const counts = bp.services.map((s) => `${s.name}:${s.type}${"replicas" in s ? `x${s.replicas}` : ""}`).join(", ");
        process.stdout.write(`environment ${opts.env}${bp.environment?.branch ? ` (branch ${bp.environment.branch})` : ""}: ${counts}\n`);
      }
      const envs = bp.environments.map((e) => `${e.name}${e.branch ? ` (${e.branch}${e.approvalRequired ? ", approval" : ""})` : ""}`).join(", ");
      process.stdout.write(
        `${file} is valid: project ${bp.project}, ${bp.services.length} service(s), ${bp.databases.length} database(s), ${bp.keyValues.length} key-value store(s); environments: ${envs}\n`,
      );
    });

  program
    .command("import")
    .description("convert render.yaml, railway.toml/json, Procfile (+ app.json) or docker-compose.yml into a commented berth.yaml")
    .argument("<file>", "the file to import")
    .option("-o, --output <file>", "write the blueprint here instead of standard output")
    .option("--project <name>", "project name (default: the file's own, e.g. Render's projects[].name, else its folder's name)")
    .option("--force", "overwrite the output file if it exists")
    .option("--json", "machine-readable output")
    .action(async (file: string, opts: { output?: string; project?: string; force?: boolean; json?: boolean }) => {
      if (opts.output && existsSync(opts.output) && !opts.force) throw new BerthError("BERTH_CONFLICT", { kind: "file", name: opts.output });
      const result = await importFile(file, opts.project ? { project: opts.project } : {});
      if (opts.output) await writeFile(opts.output, result.yaml);
      const errors = result.validation.ok ? [] : result.validation.errors;
      if (opts.json) {
        printJson({ yaml: result.yaml, output: opts.output ?? null, warnings: result.warnings, valid: result.validation.ok, errors });
        return;
      }
      if (!opts.output) process.stdout.write(result.yaml);
      const out = outFor(opts, process.stderr);
      for (const w of result.warnings) process.stderr.write(`${formatDiagnostic(w, out, "warning")}\n`);
      for (const e of errors) process.stderr.write(`${formatDiagnostic(e, out, "error")}\n`);
      const verdict = result.validation.ok ? "validates" : `needs ${errors.length} fix(es) before it validates`;
      process.stderr.write(`imported ${file}${opts.output ? ` into ${opts.output}` : ""}: ${result.warnings.length} approximation(s); the blueprint ${verdict}\n`);
      if (opts.output && basename(opts.output) === "berth.yaml") {
        const dir = dirname(opts.output);
        const here = resolve(dir) === process.cwd();
        process.stderr.write(`next: berth validate${here ? "" : ` ${opts.output}`} · berth up${here ? "" : ` ${dir}`}\n`);
      }
    });

  program
    .command("schema")
    .description("print the JSON Schema of berth.yaml (for editor autocompletion)")
    .action(() => printJson(blueprintJsonSchema()));
}
