/** Schema migrations (single schema, as the seed keeps it), applied by migrate.js during deploy. */
export const migrations = [
  {
    name: "0001_trips",
    sql: `CREATE TABLE trips (
            id bigserial PRIMARY KEY,
            share_url text NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            title text,
            departs_at timestamptz,
            playlist jsonb,
            parsed_by text,
            attempts int NOT NULL DEFAULT 0,
            shared_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now());
          CREATE TABLE parse_cache (
            share_url text PRIMARY KEY,
            result jsonb NOT NULL,
            expires_at timestamptz NOT NULL);
          CREATE TABLE reminders (
            trip_id bigint PRIMARY KEY REFERENCES trips(id),
            dispatched_at timestamptz NOT NULL DEFAULT now());
          CREATE TABLE cron_runs (
            id bigserial PRIMARY KEY,
            job text NOT NULL,
            args text NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            processed int NOT NULL DEFAULT 0,
            ok boolean)`,
  },
];
