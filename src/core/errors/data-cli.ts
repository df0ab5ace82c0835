import { defineErrors } from "./spec.ts";

/** Errors of the data CLI (`berth db ...`, `berth kv ...`, issue 7). */
export const dataCliErrors = defineErrors({
  BERTH_DATACLI_CLIENT_MISSING: {
    message: "cannot run {program}: {detail}",
    hint: "Install the client locally (Debian: `apt-get install postgresql-client` or `redis-tools`), or point {envVar} at it.",
    http: 500,
    exit: 125,
  },
  BERTH_DATACLI_SWITCH_FAILED: {
    message: "the restore of '{name}' was promoted, but services did not switch over: {detail}",
    hint: "The restored server is live and the old data directory is kept. `berth events` shows why the deploy failed; fix it and run `berth deploy`.",
    http: 500,
    exit: 1,
  },
});
