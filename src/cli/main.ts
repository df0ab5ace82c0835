/**
 * `berth`: the command-line interface. Talks to the daemon over HTTP; local commands (validate,
 * import, schema) need none. Every command has --help and --json; errors print one line plus a
 * hint and exit with the catalogue's exit code.
 */
import { Command, CommanderError } from "commander";
import { BerthError } from "../core/errors.ts";
import { registerAccountCommands } from "./commands/account.ts";
import { registerAuditCommand } from "./commands/audit.ts";
import { registerBlueprintCommands } from "./commands/blueprint.ts";
import { registerEnvCommands } from "./commands/env.ts";
import { registerCronCommands } from "./commands/cron.ts";
import { registerDataCommands } from "./commands/data.ts";
import { registerEventsCommand } from "./commands/events.ts";
import { registerGitCommands } from "./commands/git.ts";
import { registerOperationCommands } from "./commands/operations.ts";
import { registerLinkCommands } from "./commands/link.ts";
import { registerMetricsCommands } from "./commands/metrics.ts";
import { registerNodeCommands } from "./commands/node.ts";
import { registerPreviewCommands } from "./commands/preview.ts";
import { registerReleaseCommands } from "./commands/releases.ts";
import { registerServerCommand } from "./commands/server.ts";
import { registerStatusCommand } from "./commands/status.ts";
import { registerUpCommands } from "./commands/up.ts";
import { registerWorkflowCommands } from "./commands/workflow.ts";
import { type CliContext, defaultContext } from "./context.ts";
import { installDirDefaults } from "./defaults.ts";
import { reportError } from "./output.ts";

const VERSION = "0.1.0";

export async function buildProgram(ctx: CliContext): Promise<Command> {
  const program = new Command("berth")
    .description("Berth: run whole stacks from one blueprint on your own servers")
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander prints "error: ...\n(Did you mean x?)": keep it to one line.
      writeErr: (text) => process.stderr.write(`${text.replace(/\n\(Did you mean ([^)]*)\)/g, " (did you mean $1)").trimEnd()}\n`),
    });
  registerServerCommand(program);
  registerAccountCommands(program, ctx);
  registerStatusCommand(program, ctx);
  registerEventsCommand(program, ctx);
  registerUpCommands(program, ctx);
  registerReleaseCommands(program, ctx);
  registerEnvCommands(program, ctx);
  registerAuditCommand(program, ctx);
  registerCronCommands(program, ctx); // cron (issue 8)
  registerDataCommands(program, ctx); // managed data (issue 7)
  registerGitCommands(program, ctx); // git auto-deploy (issue 5)
  registerOperationCommands(program, ctx); // recorded operations (issue 15)
  registerBlueprintCommands(program); // validate, import, schema: local, no daemon
  registerLinkCommands(program, ctx); // link, unlink (issue 13)
  registerMetricsCommands(program, ctx); // metrics, alerts (issue 18)
  registerWorkflowCommands(program, ctx); // promote, approve, reject, pending (issue 19)
  registerPreviewCommands(program, ctx); // preview list|create|approve|destroy (issue 19)
  registerNodeCommands(program, ctx); // node list|add|drain|activate|remove (issue 20)
  installDirDefaults(program, ctx); // --project/--env from the directory's link
  // Subcommands inherit the one-line error style and the exit override.
  for (const c of program.commands) c.exitOverride().showSuggestionAfterError(true).configureOutput(program.configureOutput());
  return program;
}

export async function main(argv: readonly string[], ctx: CliContext = defaultContext()): Promise<number> {
  const program = await buildProgram(ctx);
  const json = argv.includes("--json");
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return new BerthError("BERTH_USAGE", { detail: e.message }).exitCode;
    }
    return reportError(e, json);
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // Long-running commands (server, up, logs -f) keep the loop alive themselves.
  if (code !== 0) process.exit(code);
}
