/**
 * Directory defaults for every command: before any action runs, a `--project` or `--env` the user
 * did not type is taken from the context (BERTH_PROJECT/BERTH_ENV, else the directory's link).
 * One hook on the program does it, so a command cannot forget to; commands opt out with
 * `ownContext()` when their option means something else (`token create --project` scopes a
 * token) or when they resolve a named directory themselves (`up DIR`, `down DIR`, `deploy DIR`).
 * `--all` on a command turns the defaults off for that run.
 */
import type { Command } from "commander";
import type { CliContext } from "./context.ts";

const opted = new WeakSet<Command>();

/** Marks a command that resolves its own context (the hook leaves its options alone). */
export function ownContext<C extends Command>(command: C): C {
  opted.add(command);
  return command;
}

const hasOption = (c: Command, name: string) => c.options.some((o) => o.attributeName() === name);

/** Fills `project` and `env` options the user left out from the context; see the file comment. */
export function applyDirDefaults(action: Command, ctx: CliContext): void {
  if (opted.has(action) || action.opts().all) return;
  if (!hasOption(action, "project") && !hasOption(action, "env")) return;
  const here = ctx.here();
  const defaults = [
    ["project", here.project],
    ["env", here.environment],
  ] as const;
  // A link's environment belongs to its project: `--project other` does not get it.
  const typedProject = action.getOptionValueSource("project") === "cli" ? (action.opts().project as string | undefined) : undefined;
  for (const [key, d] of defaults) {
    if (!d || !hasOption(action, key) || action.getOptionValueSource(key) === "cli") continue;
    if (key === "env" && d.from === "link" && typedProject !== undefined && typedProject !== here.link?.project) continue;
    action.setOptionValueWithSource(key, d.value, "env");
  }
}

/** Installs the hook on the program (it runs for every subcommand's action). */
export function installDirDefaults(program: Command, ctx: CliContext): void {
  program.hook("preAction", (_program, action) => applyDirDefaults(action, ctx));
}
