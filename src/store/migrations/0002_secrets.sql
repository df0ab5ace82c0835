-- Secrets: per-project data keys (wrapped by the key-encryption key), encrypted env values
-- (secrets set through the CLI and generated ones), and env groups. No plaintext is ever stored.
CREATE TABLE data_keys (
  id TEXT PRIMARY KEY,             -- key id, written into every ciphertext it encrypts
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,        -- 1, 2, ... per project; bound into associated data
  state TEXT NOT NULL,             -- active | retired (retired keys only decrypt)
  kek_id TEXT NOT NULL,            -- fingerprint of the key-encryption key that wraps it
  wrapped TEXT NOT NULL,           -- bk1 ciphertext of the 32-byte key
  created_at TEXT NOT NULL,
  retired_at TEXT,
  UNIQUE (project_id, version)
);
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (project_id) WHERE state = 'active';

CREATE TABLE env_groups (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (project_id, name)
);

CREATE TABLE secret_values (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  environment TEXT NOT NULL,       -- environment name, or '*' for every environment
  owner TEXT NOT NULL,             -- 'service:<name>' | 'group:<name>'
  name TEXT NOT NULL,              -- the variable name
  source TEXT NOT NULL,            -- set | generated
  key_id TEXT NOT NULL REFERENCES data_keys(id),
  ciphertext TEXT NOT NULL,        -- bv1, bound to project, key version, environment, owner, name
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  UNIQUE (project_id, environment, owner, name)
);
CREATE INDEX secret_values_by_key ON secret_values (key_id);
