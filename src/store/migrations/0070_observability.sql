-- Issue 18: observability. Metric points per series and interval (raw 10 s, rolled up to 5 min),
-- alerts with their state, and the autoscaler's decisions (so a restart keeps its cooldown).
CREATE TABLE metric_points (
  project TEXT NOT NULL,
  environment TEXT NOT NULL,
  service TEXT NOT NULL,          -- a service, cron job or datastore name
  instance TEXT NOT NULL,         -- '' for the whole service
  name TEXT NOT NULL,             -- http.2xx, http.latency, cpu.percent, memory.bytes, ...
  res_s INTEGER NOT NULL,         -- resolution of the point: 10 (raw) or 300 (rolled up)
  ts INTEGER NOT NULL,            -- start of the interval, epoch seconds, aligned to res_s
  count REAL NOT NULL,            -- observations (requests, samples)
  sum REAL NOT NULL,              -- their sum (counters: the increase)
  max REAL NOT NULL,
  hist TEXT,                      -- JSON {bucketMs: count} for latency/duration histograms
  PRIMARY KEY (project, environment, service, instance, name, res_s, ts)
) WITHOUT ROWID;
CREATE INDEX metric_points_age ON metric_points (res_s, ts);

CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  dedup_key TEXT NOT NULL,        -- rule + scope: one open alert per key
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,         -- critical | warning | info
  project TEXT NOT NULL,
  environment TEXT NOT NULL,
  service TEXT NOT NULL,          -- '' for environment-wide rules
  state TEXT NOT NULL,            -- pending | firing | resolved
  summary TEXT NOT NULL,
  value REAL,
  started_at TEXT NOT NULL,
  fired_at TEXT,
  resolved_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX alerts_open ON alerts (dedup_key, state);
CREATE INDEX alerts_project ON alerts (project, started_at);

CREATE TABLE autoscale_state (
  service_id TEXT PRIMARY KEY,
  replicas INTEGER NOT NULL,
  last_change_at INTEGER NOT NULL, -- epoch ms
  history TEXT NOT NULL           -- JSON [{at, desired}] inside the stabilization window
);
