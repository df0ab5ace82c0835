-- Browser sessions of the dashboard (issue 21): a login exchanges an API token for a session
-- cookie. Only the SHA-256 of the session id is stored (a copy of this table logs nobody in);
-- the session acts with its token's role and scope, so revoking the token ends its sessions.
-- See docs/design/dashboard.md.
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  token_id TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
