-- Git auto-deploy (issue 5). Webhook deliveries already acted on, as 'id:<X-GitHub-Delivery>' and
-- 'body:<sha256 of the signed body>' rows (replays are refused), and the
-- last commit of each followed branch that was synced, so a restarted daemon picks up a push it
-- missed (level-based: served repositories' heads are compared against these rows).
CREATE TABLE git_deliveries (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  delivery_id TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (project_id, delivery_id)
);
CREATE TABLE git_heads (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  PRIMARY KEY (project_id, branch)
);
