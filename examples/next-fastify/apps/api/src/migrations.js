/** Schema migrations, applied in order by migrate.js (the one-off task before traffic moves). */
export const migrations = [
  {
    name: "0001_notes",
    sql: `CREATE TABLE notes (
            id bigserial PRIMARY KEY,
            body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now())`,
  },
];
