-- Preview environments per pull request (issue 19, deliverables 2-5): one row per pull request
-- (or served branch) of a project, the intent the `preview` operations carry out. The preview's
-- environment (`pr-<number>`) is ordinary desired state; this row says why it exists, which head
-- it runs, whether a maintainer approved a fork's head, and how its data step went.
-- See docs/design/previews.md.
CREATE TABLE previews (
  id TEXT PRIMARY KEY,
  project TEXT NOT NULL,
  number INTEGER NOT NULL,          -- the pull request's number (Berth's own for served branches)
  environment TEXT NOT NULL,        -- pr-<number>
  source TEXT NOT NULL,             -- github | served
  branch TEXT NOT NULL,             -- the head branch
  head_sha TEXT NOT NULL,           -- the head commit to run
  head_repo TEXT NOT NULL,          -- owner/name the head lives in (a fork's differs from base_repo)
  base_repo TEXT NOT NULL,          -- owner/name commit statuses go to ('' for served branches)
  state TEXT NOT NULL,              -- awaiting-approval | deploying | live | data-failed | failed | destroying | destroyed
  detail TEXT,                      -- why (the data step's failure, the deploy's)
  approved_sha TEXT,                -- the fork head commit a maintainer approved
  approved_by TEXT,
  data_state TEXT NOT NULL DEFAULT 'none', -- none | ready | failed: the fork/scrub step
  unset_secrets TEXT NOT NULL DEFAULT '[]', -- JSON: variables that are empty in the preview
  opened_by TEXT NOT NULL,
  last_push_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (project, number)
);
CREATE INDEX previews_by_state ON previews (state);
