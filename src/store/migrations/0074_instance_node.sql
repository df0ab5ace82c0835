-- Issue 20: where an instance runs on a multi-node engine (the Swarm node's hostname), so
-- `berth status` shows it. NULL on the local engine.
ALTER TABLE instances ADD COLUMN node TEXT;
