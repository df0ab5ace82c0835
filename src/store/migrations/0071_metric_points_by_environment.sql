-- The alert manager reads every service of an environment at once (one query per evaluation
-- instead of one per service and rule): service-level points of an environment, per series, over
-- a time window.
CREATE INDEX metric_points_environment_window ON metric_points (project, environment, instance, name, ts);
