import { defineErrors } from "./spec.ts";

/** Errors of the CLI's directory context and of project identity (issue 13, docs/design/cli-context.md). */
export const cliErrors = defineErrors({
  BERTH_CLI_LINK_INVALID: {
    message: "the directory link {file} cannot be read: {detail}",
    hint: "Run `berth link` in that directory to write it again, or delete the file.",
    http: 400,
    exit: 2,
  },
  BERTH_CLI_NO_DAEMON: {
    message: "no Berth daemon to talk to: {detail}",
    hint: "Run `berth up` in the directory of a berth.yaml (it starts a local daemon), or `berth login --url URL --token TOKEN`, or set BERTH_URL and BERTH_TOKEN.",
    http: 503,
    exit: 6,
  },
  BERTH_CLI_LOCAL_DAEMON_STOPPED: {
    message: "the local Berth daemon {where} is not running (data dir {dataDir})",
    hint: "Start it again with `berth up` in the stack's directory; stopped stacks keep their data.",
    http: 503,
    exit: 6,
  },
  BERTH_CLI_NO_TOKEN: {
    message: "no API token for the daemon at {url}",
    hint: "Run `berth login --url {url} --token TOKEN` once, or set BERTH_TOKEN.",
    http: 401,
    exit: 3,
  },
  BERTH_CLI_NO_PROJECT: {
    message: "which project? {detail}",
    hint: "Pass --project NAME, set BERTH_PROJECT, run the command in the directory of the project's berth.yaml, or link the directory with `berth link --project NAME`.",
    http: 400,
    exit: 2,
  },
  BERTH_CLI_BLUEPRINT_IMPORTABLE: {
    message: "no berth.yaml in {dir}, but {file} is there",
    hint: "Convert it with `berth import {file} -o {output}`, check it with `berth validate {output}`, then run the command again.",
    http: 404,
    exit: 4,
  },
  BERTH_PROJECT_DIR_CONFLICT: {
    message: "project '{project}' is deployed from {existing}, not from {requested}",
    hint: "One directory is one stack: give this directory's berth.yaml its own `project:` name, or move the project here on purpose with --force (`berth up --force`, `berth deploy --force`); `berth down` stops a project only from the directory it is deployed from (or with --force).",
    http: 409,
    exit: 5,
  },
});
