/**
 * Repositories Berth serves itself (issue 5): `<dataDir>/git/<project>.git`, bare, pushed to
 * over the filesystem or SSH (`git push root@host:/var/lib/berth/git/app.git main`). No hook
 * carries a credential: the daemon watches each repository's refs and compares every branch head
 * with the commit it last synced (stored), so a push made while the daemon was down is deployed
 * when it starts — the same level-based rule as the reconciler. A slow rescan backs up the watch.
 */
import { execFile } from "node:child_process";
import { existsSync, type FSWatcher, mkdirSync, readdirSync, watch } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { GIT_ENV, git, validateBranch } from "../build/git-source.ts";
import { BerthError } from "../core/errors.ts";
import type { GitDeployer } from "./git-deploy.ts";

const run = promisify(execFile);
const PROJECT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface ServedReposOptions {
  /** `<dataDir>/git`. */
  readonly dir: string;
  readonly deployer: GitDeployer;
  /** Backstop rescan of every served repository (the watch is the fast path). */
  readonly rescanMs?: number;
  /** Quiet time after a ref change before heads are read (a push updates several refs). */
  readonly debounceMs?: number;
}

export class ServedRepos {
  readonly #o: ServedReposOptions;
  readonly #watchers = new Map<string, FSWatcher[]>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #rescan: NodeJS.Timeout | undefined;
  #stopped = true;
  constructor(options: ServedReposOptions) {
    this.#o = options;
  }

  /** Path of a project's served repository. */
  pathOf(project: string): string {
    if (!PROJECT_NAME.test(project)) throw new BerthError("BERTH_BAD_REQUEST", { detail: `'${project}' is not a project name Berth can serve a repository for` });
    return join(this.#o.dir, `${project}.git`);
  }

  /** Creates the bare repository (idempotent), points the project at it, and starts watching it. */
  async ensure(project: string, defaultBranch = "main"): Promise<string> {
    validateBranch(defaultBranch);
    const path = this.pathOf(project);
    if (!existsSync(join(path, "HEAD"))) {
      mkdirSync(this.#o.dir, { recursive: true, mode: 0o700 });
      await git(["init", "--quiet", "--bare", `--initial-branch=${defaultBranch}`, "--end-of-options", path], { step: "init" });
    }
    this.#o.deployer.follow(project, path, defaultBranch);
    if (!this.#stopped) this.#watch(project);
    return path;
  }

  /** Watches every served repository and deploys heads that moved while the daemon was down. */
  start(): void {
    this.#stopped = false;
    mkdirSync(this.#o.dir, { recursive: true, mode: 0o700 });
    for (const project of this.#projects()) this.#watch(project);
    const every = this.#o.rescanMs ?? 30_000;
    this.#rescan = setInterval(() => {
      for (const project of this.#projects()) this.#schedule(project, 0);
    }, every);
    this.#rescan.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#rescan) clearInterval(this.#rescan);
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const ws of this.#watchers.values()) for (const w of ws) w.close();
    this.#watchers.clear();
  }

  /** Reads the heads of a served repository and records a deploy of every branch whose head moved. */
  async scan(project: string): Promise<void> {
    const path = this.pathOf(project);
    let row: { id: string; url: string };
    try {
      const src = this.#o.deployer.gitSource(project);
      row = { id: src.row.id, url: src.url };
    } catch {
      return; // a repository left behind by a removed project
    }
    if (row.url !== path) return; // the project follows another repository now
    const { stdout } = await run("git", ["--git-dir", path, "for-each-ref", "--format=%(objectname) %(refname:lstrip=2)", "refs/heads/"], { env: { ...GIT_ENV } });
    const present = new Set<string>();
    for (const line of stdout.split("\n")) {
      const [commit, branch] = line.trim().split(" ");
      if (branch) present.add(branch);
      if (!commit || !branch || this.#o.deployer.lastSynced(row.id, branch) === commit) continue;
      // Recorded as an operation (deduplicated by commit); failures are reported as git:sync:failed.
      this.#o.deployer.request({ project, branch, commit, via: "served", actor: "git" });
    }
    // Issue 19: a branch deleted from the served repository takes its previews with it.
    this.#o.deployer.branchesGone(project, present, "git");
  }

  #projects(): string[] {
    if (!existsSync(this.#o.dir)) return [];
    return readdirSync(this.#o.dir)
      .filter((n) => n.endsWith(".git"))
      .map((n) => n.slice(0, -4))
      .filter((n) => PROJECT_NAME.test(n));
  }

  #watch(project: string): void {
    if (this.#watchers.has(project)) return;
    const path = this.pathOf(project);
    const onChange = () => this.#schedule(project, this.#o.debounceMs ?? 150);
    const ws: FSWatcher[] = [];
    try {
      mkdirSync(join(path, "refs", "heads"), { recursive: true });
      ws.push(watch(join(path, "refs", "heads"), { recursive: true }, onChange));
      ws.push(watch(path, onChange)); // packed-refs
    } catch {
      // no inotify (or too many watches): the periodic rescan still deploys pushes
    }
    for (const w of ws) w.on("error", () => undefined);
    this.#watchers.set(project, ws);
    this.#schedule(project, 0);
  }

  #schedule(project: string, delayMs: number): void {
    if (this.#stopped || this.#timers.has(project)) return;
    const t = setTimeout(() => {
      this.#timers.delete(project);
      void this.scan(project).catch(() => undefined);
    }, delayMs);
    this.#timers.set(project, t);
  }
}
