-- Issue 17: what an owner allows a project beyond the defaults: its quota (instances, memory,
-- disk over all its environments) and ports it may declare despite the reserved-port rule.
-- Keyed by project name: an owner may set a policy before the project's first sync.
CREATE TABLE project_policies (
  project TEXT PRIMARY KEY,
  policy TEXT NOT NULL,            -- JSON: { instances?, memoryBytes?, diskBytes?, allowedPorts? }
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
