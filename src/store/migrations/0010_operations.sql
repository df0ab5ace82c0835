-- Operations (issue 15): recorded intent for long or risky work — a git-push deploy, a backup, a
-- restore, a drill, a promotion. Entry points insert a row and return its id; the operation
-- runner carries rows out, one at a time per serialization key, and a restarted daemon resumes
-- (or fails cleanly) whatever was left `running`. See docs/design/operations.md.
CREATE TABLE operations (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,              -- the handler's name: git-deploy | backup | restore | ...
  key TEXT NOT NULL,               -- serialization key (e.g. git:<project>, db:<project>/<env>/<name>)
  project TEXT,                    -- project name, for token scoping; NULL for daemon-wide work
  environment TEXT,
  state TEXT NOT NULL,             -- pending | running | succeeded | failed | cancelled
  params TEXT NOT NULL,            -- JSON, parsed by the handler's schema; never secrets
  progress TEXT,                   -- JSON {step, detail, done?, total?, at}
  result TEXT,                     -- JSON, what the handler returned
  error TEXT,                      -- JSON {code, message, hint}
  attempts INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL,        -- token name, or system | git | github | cron
  created_at TEXT NOT NULL,
  started_at TEXT,
  updated_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX operations_by_state ON operations (state, key);
CREATE INDEX operations_by_project ON operations (project, created_at);
