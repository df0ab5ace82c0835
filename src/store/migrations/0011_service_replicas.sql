-- Issue 15: the status of an environment with thousands of services is computed in SQL; the
-- replica count is a column so it is not extracted from each service's JSON spec every time.
ALTER TABLE services ADD COLUMN replicas INTEGER NOT NULL DEFAULT 0;
UPDATE services SET replicas = COALESCE(json_extract(spec, '$.replicas'), 0);
