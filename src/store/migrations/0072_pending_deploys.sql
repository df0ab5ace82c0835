-- Approval gates (issue 19): a deploy to an environment that requires approval is recorded here
-- instead of as desired state, and waits for an owner's `berth approve` (which replays it as an
-- ordinary sync) or `berth reject`. A newer request for the same environment supersedes the
-- older pending one. See docs/design/environments-workflow.md.
CREATE TABLE pending_deploys (
  id TEXT PRIMARY KEY,
  project TEXT NOT NULL,
  environment TEXT NOT NULL,
  via TEXT NOT NULL,               -- sync | push | promote
  summary TEXT NOT NULL,           -- one line for status: "push of main@abc123", "promote web from staging"
  request TEXT NOT NULL,           -- JSON: what an approval replays (blueprint text, source, pins); never secrets
  state TEXT NOT NULL,             -- pending | approved | rejected | superseded
  requested_by TEXT NOT NULL,      -- token name, or git | github
  requested_at TEXT NOT NULL,
  decided_by TEXT,
  decided_at TEXT,
  superseded_by TEXT,
  reason TEXT,                     -- a rejection's reason
  generation INTEGER               -- the environment generation an approval recorded
);
CREATE INDEX pending_deploys_by_environment ON pending_deploys (project, environment, state);
CREATE INDEX pending_deploys_by_time ON pending_deploys (requested_at);
