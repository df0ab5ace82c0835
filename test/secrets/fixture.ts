/** A fresh store in a temp directory with one project, and the secrets subsystem opened on it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BerthEvent, EventInput, EventSink, EventType } from "../../src/core/events.ts";
import type { KekSource, ProjectRef, Secrets } from "../../src/secrets/index.ts";
import { openSecrets } from "../../src/secrets/index.ts";
import type { Db } from "../../src/store/db.ts";
import { openDb } from "../../src/store/db.ts";
import { EnvGroupRepository } from "../../src/store/repositories/env-groups.ts";
import { ProjectRepository } from "../../src/store/repositories/projects.ts";
import { SecretRepository } from "../../src/store/repositories/secrets.ts";

export class RecordingSink implements EventSink {
  readonly events: EventInput[] = [];
  emit<T extends EventType>(event: EventInput<T>): void {
    this.events.push(event as EventInput);
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
}
export type { BerthEvent };

export interface Fixture {
  readonly dir: string;
  readonly db: Db;
  readonly rows: SecretRepository;
  readonly groups: EnvGroupRepository;
  readonly project: ProjectRef;
  readonly kekPath: string;
  readonly events: RecordingSink;
  open(kek?: KekSource): Secrets;
  addProject(name: string): ProjectRef;
  close(): void;
}

export function fixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), "berth-secrets-"));
  const db = openDb(join(dir, "state", "berth.db"));
  const rows = new SecretRepository(db);
  const groups = new EnvGroupRepository(db);
  const projects = new ProjectRepository(db);
  const addProject = (name: string) => projects.upsert(name, { kind: "dir", path: `/srv/${name}` }, new Date().toISOString());
  const project = addProject("reminders");
  const kekPath = join(dir, "keys", "kek");
  const events = new RecordingSink();
  return {
    dir,
    db,
    rows,
    groups,
    project,
    kekPath,
    events,
    addProject,
    open: (kek: KekSource = { kind: "file", path: kekPath }) => openSecrets({ rows, groups, kek, events }),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
