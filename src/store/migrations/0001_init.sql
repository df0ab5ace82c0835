-- Control-plane spine: projects, environments, services, releases, deploys, instances, runs,
-- events, API tokens and the persistent reconcile queue.
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,            -- JSON tagged union: {kind:"dir",path} | {kind:"git",url,ref}
  created_at TEXT NOT NULL
);

CREATE TABLE environments (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  blueprint TEXT NOT NULL,         -- JSON: the environment's resolved blueprint (desired state)
  generation INTEGER NOT NULL DEFAULT 1,
  reconciled_generation INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending',   -- pending | reconciling | live | degraded | failed | stopped
  status_detail TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (project_id, name)
);

CREATE TABLE services (
  id TEXT PRIMARY KEY,
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  spec TEXT NOT NULL,              -- JSON ServiceSpec (no secrets)
  inputs TEXT NOT NULL,            -- JSON release inputs: source revision, build settings, env sources
  inputs_digest TEXT NOT NULL,     -- sha256 of inputs + spec: a release is cut when it changes
  failed_digest TEXT,              -- inputs whose last release or rollout failed: not retried until they change
  desired_release_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (environment_id, name)
);

CREATE TABLE releases (
  id TEXT PRIMARY KEY,
  service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  artifact TEXT NOT NULL,          -- JSON Artifact
  config TEXT NOT NULL,            -- JSON resolved config (ServiceSpec + commands), no secrets
  sealed_env TEXT NOT NULL,        -- encrypted env snapshot
  created_at TEXT NOT NULL,
  UNIQUE (service_id, number)
);

CREATE TABLE deploys (
  id TEXT PRIMARY KEY,
  environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  release_id TEXT REFERENCES releases(id) ON DELETE SET NULL,
  status TEXT NOT NULL,            -- queued | running | live | failed | rolled-back | superseded
  step TEXT,
  reason TEXT,
  steps TEXT NOT NULL DEFAULT '[]',  -- JSON [{step, detail, ms, at}]
  actor TEXT NOT NULL,
  created_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX deploys_by_env ON deploys (environment_id, created_at);

CREATE TABLE instances (
  id TEXT PRIMARY KEY,
  service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  release_id TEXT,
  state TEXT NOT NULL,
  pid INTEGER,
  host TEXT,
  port INTEGER,
  restarts INTEGER NOT NULL DEFAULT 0,
  started_at TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX instances_by_service ON instances (service_id);

CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  service_id TEXT REFERENCES services(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,              -- preDeploy | initialDeploy | oneoff
  status TEXT NOT NULL,            -- running | succeeded | failed | timed-out
  command TEXT NOT NULL,
  exit_code INTEGER,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  detail TEXT
);

CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  type TEXT NOT NULL,
  project TEXT,
  environment TEXT,
  service TEXT,
  actor TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX events_by_scope ON events (project, environment, seq);

CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL UNIQUE,       -- sha256 of the token; the token itself is shown once
  role TEXT NOT NULL,              -- owner | deployer | viewer
  projects TEXT NOT NULL DEFAULT '[]',  -- JSON list of project names; [] = all projects
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
);

CREATE TABLE reconcile_queue (
  environment_id TEXT PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
  requested_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0  -- epoch ms; retry backoff
);
