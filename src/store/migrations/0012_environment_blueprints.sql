-- Issue 15: an environment's blueprint moves to its own table. A 5,000-service document is ~3 MB,
-- stored in overflow pages; every read of a column after it (generation, status, ...) walked the
-- whole chain, so status reads, queue work and instance events cost milliseconds each.
CREATE TABLE environment_blueprints (
  environment_id TEXT PRIMARY KEY REFERENCES environments(id) ON DELETE CASCADE,
  generation INTEGER NOT NULL,
  blueprint TEXT NOT NULL          -- JSON: the environment's resolved blueprint (desired state)
);
INSERT INTO environment_blueprints (environment_id, generation, blueprint) SELECT id, generation, blueprint FROM environments;
ALTER TABLE environments DROP COLUMN blueprint;
