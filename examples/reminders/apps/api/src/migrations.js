/** Schema migrations, applied in order by migrate.js; each name is recorded in `migrations`. */
export const migrations = [
  {
    name: "0001_jobs",
    sql: `CREATE TABLE job_results (
            job_id text PRIMARY KEY,
            input jsonb NOT NULL,
            output text NOT NULL,
            worker text NOT NULL,
            finished_at timestamptz NOT NULL DEFAULT now())`,
  },
  {
    name: "0002_reminders",
    sql: `CREATE TABLE reminders (
            id bigserial PRIMARY KEY,
            title text NOT NULL,
            due_at timestamptz NOT NULL,
            status text NOT NULL DEFAULT 'scheduled',
            escalation_level int NOT NULL DEFAULT 0,
            next_escalation_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now());
          CREATE TABLE deliveries (
            id bigserial PRIMARY KEY,
            reminder_id bigint NOT NULL REFERENCES reminders(id),
            level int NOT NULL,
            worker text NOT NULL,
            delivered_at timestamptz NOT NULL DEFAULT now())`,
  },
  {
    name: "0003_scheduler",
    sql: `CREATE TABLE scheduler_leases (
            instance_id text PRIMARY KEY,
            pid int NOT NULL,
            acquired_at timestamptz NOT NULL DEFAULT now(),
            heartbeat_at timestamptz NOT NULL DEFAULT now(),
            ticks bigint NOT NULL DEFAULT 0,
            released_at timestamptz)`,
  },
];
