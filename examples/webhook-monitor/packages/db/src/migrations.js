/** Schema migrations, applied in order by `npm run migrate:deploy` (the blueprint's preDeploy). */
export const migrations = [
  {
    name: "0001_webhooks",
    sql: `CREATE TABLE webhooks (
            id bigserial PRIMARY KEY,
            source text NOT NULL,
            payload jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            status text NOT NULL DEFAULT 'queued',
            processed_by text,
            processed_at timestamptz,
            summary text)`,
  },
];
