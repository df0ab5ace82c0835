-- Issue 22: the stable internal address of each service of an environment. The loopback address
-- its names resolve to on the local engine is allocated once and kept across deploys, restarts,
-- replica changes and daemon restarts; a removed service's row is kept so a re-added one gets its
-- address back. Keyed by names: a row outlives the environment row it was made for.
CREATE TABLE internal_addresses (
  project TEXT NOT NULL,
  environment TEXT NOT NULL,
  service TEXT NOT NULL,
  address TEXT NOT NULL UNIQUE,    -- dotted IPv4 in 127.64.0.0/10
  created_at TEXT NOT NULL,
  PRIMARY KEY (project, environment, service)
);
