-- Issue 15: the status of an environment with thousands of services is computed in SQL; the
-- replica count is a column so it is not extracted from each service's JSON spec every time.
ALTER TABLE services ADD COLUMN replicas INTEGER NOT NULL DEFAULT 0;
UPDATE services SET replicas = COALESCE(json_extract(spec, '$.replicas'), 0);
-- Healthy instances per service are counted by index, not by scanning every instance.
CREATE INDEX instances_by_service_state ON instances (service_id, state);
-- Covers the status query: an environment's services are summed up without reading their specs.
CREATE INDEX services_status ON services (environment_id, name, id, kind, replicas, inputs_digest, failed_digest, desired_release_id);
