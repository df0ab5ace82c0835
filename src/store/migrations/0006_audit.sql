-- The audit log: one row per mutating API request and per secret read, append-only (the
-- triggers refuse UPDATE and DELETE). Never holds request bodies, so never a secret value.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,             -- token name, or '-' when the request had no valid token
  action TEXT NOT NULL,            -- METHOD + route pattern, e.g. 'PUT /v1/projects/:project/...'
  target TEXT NOT NULL,            -- the request path (no query string)
  project TEXT,                    -- the :project parameter, when the route has one
  address TEXT NOT NULL,           -- source address of the request
  status INTEGER NOT NULL,         -- HTTP status of the response
  request_id TEXT NOT NULL
);
CREATE INDEX audit_log_by_project ON audit_log (project, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
