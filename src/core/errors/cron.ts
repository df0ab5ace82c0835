import { defineErrors } from "./spec.ts";

/** Errors of cron jobs: schedules, settings, triggers. */
export const cronErrors = defineErrors({
  BERTH_CRON_SCHEDULE_INVALID: {
    message: "invalid cron schedule '{schedule}': {detail}",
    hint: "Write 5 fields (`*/15 * * * *`), 6 with seconds (`0 */5 * * * *`), or a shortcut such as `@hourly` or `@daily`.",
    http: 400,
    exit: 2,
  },
  BERTH_CRON_TIMEZONE_INVALID: {
    message: "unknown time zone '{timezone}' for cron job {job}",
    hint: "Use an IANA time zone name such as `UTC`, `Europe/Zurich` or `America/New_York`.",
    http: 400,
    exit: 2,
  },
  BERTH_CRON_SETTINGS_INVALID: {
    message: "invalid cron setting {field} for job {job}: {detail}",
    hint: "Fix the field named above in the service's `cron:` block of berth.yaml.",
    http: 400,
    exit: 2,
  },
  BERTH_CRON_JOB_NOT_FOUND: {
    message: "cron job '{job}' not found",
    hint: "List the cron jobs of the environment with `berth cron list`.",
    http: 404,
    exit: 4,
  },
  BERTH_CRON_TASK_UNAVAILABLE: {
    message: "cannot run cron job {job}: {detail}",
    hint: "Deploy the service first (`berth deploy`); a cron job runs the command of its latest release.",
    http: 409,
    exit: 5,
  },
});
