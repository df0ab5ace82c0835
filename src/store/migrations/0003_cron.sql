-- Cron: job settings with their planning cursor, and one row per run attempt.
-- The exactly-once point is the UNIQUE key of cron_runs: claiming a slot is an INSERT of
-- (job, origin, slot, attempt) in a transaction, and starting it is a compare-and-set from
-- claimed/pending to running. A slot whose claim was abandoned (crash before start) may be run
-- again only as a new attempt row, so no row ever starts twice. All times are epoch ms.
CREATE TABLE cron_jobs (
  project TEXT NOT NULL,
  environment TEXT NOT NULL,
  service TEXT NOT NULL,
  settings TEXT NOT NULL,          -- JSON CronJob (resolved, no secrets)
  cursor_ms INTEGER,               -- newest slot already planned; NULL = never planned
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (project, environment, service)
);

CREATE TABLE cron_runs (
  id TEXT PRIMARY KEY,             -- passed to the job as BERTH_RUN_ID
  project TEXT NOT NULL,
  environment TEXT NOT NULL,
  service TEXT NOT NULL,
  origin TEXT NOT NULL,            -- scheduled | manual: what made the slot
  slot_ms INTEGER NOT NULL,        -- passed to the job as BERTH_SCHEDULED_AT
  attempt INTEGER NOT NULL,        -- 1 = first try; retries and re-runs of abandoned claims count up
  trigger TEXT NOT NULL,           -- scheduled | manual | retry
  status TEXT NOT NULL,            -- pending | claimed | running | succeeded | failed | timed-out
                                   -- | replaced | interrupted | skipped | abandoned | missed
  not_before_ms INTEGER,           -- pending rows: earliest start (retry backoff, manual trigger)
  claimed_at_ms INTEGER NOT NULL,
  started_at_ms INTEGER,
  finished_at_ms INTEGER,
  exit_code INTEGER,
  signal TEXT,
  reason TEXT,
  log_excerpt TEXT,                -- last lines of output
  log_path TEXT,
  UNIQUE (project, environment, service, origin, slot_ms, attempt)
);
CREATE INDEX cron_runs_by_job ON cron_runs (project, environment, service, slot_ms);
CREATE INDEX cron_runs_by_status ON cron_runs (status, not_before_ms);
