/**
 * Git sources: a repository (URL or local path) is fetched into a bare mirror per URL, and a
 * commit is checked out into a cache directory keyed by its sha (immutable once written, so a
 * build of the same commit never checks it out twice). Every git call is an argv array with
 * `--end-of-options` before anything that came from a user, refs are validated first, and the
 * transports are restricted (no `ext::`, no prompts).
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join, matchesGlob } from "node:path";
import { promisify } from "node:util";
import { BerthError } from "../core/errors.ts";

const run = promisify(execFile);

const BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!.*\.lock$)(?!.*\/$)(?!.*\.$)[A-Za-z0-9._/-]{1,200}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const URL_SCHEMES = /^(https?|ssh|git|file):\/\/[^\s]+$/;
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/;

/** Throws unless `branch` is a plain branch name (no options, no revision syntax). */
export function validateBranch(branch: string): string {
  if (!BRANCH.test(branch)) throw new BerthError("BERTH_GIT_REF_INVALID", { ref: branch, kind: "branch" });
  return branch;
}

/** Throws unless `sha` is a full 40-character lowercase commit id. */
export function validateCommit(sha: string): string {
  if (!COMMIT.test(sha)) throw new BerthError("BERTH_GIT_REF_INVALID", { ref: sha, kind: "commit" });
  return sha;
}

/** Throws unless `url` is a repository location (never an option, never a shell fragment). */
export function validateRepoUrl(url: string): string {
  const ok = !url.startsWith("-") && url.length <= 2000 && !/[\s\0]/.test(url) && (isAbsolute(url) || URL_SCHEMES.test(url) || SCP_LIKE.test(url));
  if (!ok) throw new BerthError("BERTH_GIT_URL_INVALID", { url: url.slice(0, 200) });
  return url;
}

/** Env for every git call: no prompts, no user config surprises, only plain transports. */
export const GIT_ENV: Readonly<Record<string, string>> = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/root",
  LANG: "C",
  GIT_TERMINAL_PROMPT: "0",
  GIT_ALLOW_PROTOCOL: "file:git:http:https:ssh",
  GIT_CONFIG_NOSYSTEM: "1",
};

/** Runs git with an argv array; failures become BERTH_GIT_FAILED with git's own last line. */
export async function git(args: readonly string[], opts: { step: string; cwd?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<string> {
  try {
    const { stdout } = await run("git", [...args], { cwd: opts.cwd, env: { ...GIT_ENV, ...opts.env }, timeout: opts.timeoutMs ?? 5 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const detail = (err.stderr ?? err.message).trim().split("\n").filter(Boolean).pop() ?? "failed";
    throw new BerthError("BERTH_GIT_FAILED", { step: opts.step, detail: detail.slice(0, 500) }, { cause: e });
  }
}

/** Which files of a commit belong to a service (build filters). Globs are relative to the repository root. */
export interface PathFilter {
  readonly rootDir: string;
  readonly paths: readonly string[];
  readonly ignoredPaths: readonly string[];
}

const GLOB_CHARS = /[*?[\]{}]/;
function matches(path: string, pattern: string): boolean {
  const p = pattern.replace(/^\.\//, "").replace(/\/$/, "");
  if (p === "" || p === ".") return true;
  // A pattern without glob characters names a file or a directory prefix.
  if (!GLOB_CHARS.test(p)) return path === p || path.startsWith(`${p}/`);
  return matchesGlob(path, p);
}
/** True when a file (repository-relative path) is part of the service's filtered tree. */
export function inFilter(filter: PathFilter, path: string): boolean {
  const included = filter.paths.length > 0 ? filter.paths.some((g) => matches(path, g)) : matches(path, filter.rootDir);
  return included && !filter.ignoredPaths.some((g) => matches(path, g));
}

/**
 * Bare mirrors and checkouts under one cache directory:
 * `mirrors/<sha256(url)>.git` and `checkouts/<commit>`.
 */
export class GitSources {
  readonly #dir: string;
  constructor(opts: { cacheDir: string }) {
    this.#dir = opts.cacheDir;
    mkdirSync(join(this.#dir, "mirrors"), { recursive: true });
    mkdirSync(join(this.#dir, "checkouts"), { recursive: true });
  }

  /** The bare mirror of a repository location. */
  mirrorOf(url: string): string {
    return join(this.#dir, "mirrors", `${createHash("sha256").update(validateRepoUrl(url)).digest("hex").slice(0, 32)}.git`);
  }

  /** Fetches one branch into the mirror; returns the commit its head points at. */
  async fetch(url: string, branch: string, signal?: AbortSignal): Promise<string> {
    validateBranch(branch);
    const mirror = this.mirrorOf(url);
    if (!existsSync(join(mirror, "HEAD"))) await git(["init", "--quiet", "--bare", "--end-of-options", mirror], { step: "init" });
    signal?.throwIfAborted();
    await git(["--git-dir", mirror, "fetch", "--quiet", "--force", "--no-tags", "--end-of-options", url, `+refs/heads/${branch}:refs/heads/${branch}`], { step: `fetch ${branch}` });
    return (await git(["--git-dir", mirror, "rev-parse", "--verify", "--end-of-options", `refs/heads/${branch}^{commit}`], { step: "rev-parse" })).trim();
  }

  /**
   * Issue 19: fetches a pull request's head (`refs/pull/<n>/head`, which the forge keeps in the
   * base repository also for forks) into the mirror; returns the commit it points at.
   */
  async fetchPullHead(url: string, number: number, signal?: AbortSignal): Promise<string> {
    if (!Number.isInteger(number) || number < 1) throw new BerthError("BERTH_GIT_REF_INVALID", { ref: String(number), kind: "pull request number" });
    const mirror = this.mirrorOf(url);
    if (!existsSync(join(mirror, "HEAD"))) await git(["init", "--quiet", "--bare", "--end-of-options", mirror], { step: "init" });
    signal?.throwIfAborted();
    const ref = `refs/pull/${number}/head`;
    await git(["--git-dir", mirror, "fetch", "--quiet", "--force", "--no-tags", "--end-of-options", url, `+${ref}:${ref}`], { step: `fetch pull request #${number}` });
    return (await git(["--git-dir", mirror, "rev-parse", "--verify", "--end-of-options", `${ref}^{commit}`], { step: "rev-parse" })).trim();
  }

  /** Issue 19: deletes the checkout of `commit` (a destroyed preview's); true when there was one. */
  removeCheckout(commit: string): boolean {
    const dir = join(this.#dir, "checkouts", validateCommit(commit));
    const had = existsSync(dir);
    rmSync(dir, { recursive: true, force: true });
    return had;
  }

  /** Issue 19: the checkouts present (commit ids), for cleanup accounting. */
  checkouts(): string[] {
    return readdirSync(join(this.#dir, "checkouts")).filter((n) => /^[0-9a-f]{40}$/.test(n));
  }

  /** True when the mirror holds `commit` (as a commit object). */
  async hasCommit(url: string, commit: string): Promise<boolean> {
    validateCommit(commit);
    try {
      await git(["--git-dir", this.mirrorOf(url), "cat-file", "-e", "--end-of-options", `${commit}^{commit}`], { step: "cat-file" });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The checkout of a recorded source: fetches `branch` first when the mirror lacks the commit
   * (a fresh cache, or a data directory moved to another host).
   */
  async checkoutSource(source: { readonly url: string; readonly ref: string; readonly revision: string }): Promise<string> {
    if (!existsSync(join(this.#dir, "checkouts", validateCommit(source.revision), ".berth-checkout")) && !(await this.hasCommit(source.url, source.revision))) {
      await this.fetch(source.url, source.ref);
    }
    return this.checkout(source.url, source.revision);
  }

  /** A directory holding the files of `commit` (checked out once, then reused). */
  async checkout(url: string, commit: string): Promise<string> {
    validateCommit(commit);
    const final = join(this.#dir, "checkouts", commit);
    if (existsSync(join(final, ".berth-checkout"))) return final;
    const work = `${final}.tmp-${randomBytes(4).toString("hex")}`;
    mkdirSync(work, { recursive: true });
    try {
      // A private index file: concurrent checkouts from one mirror never share state.
      const env = { GIT_INDEX_FILE: join(work, ".berth-index") };
      await git(["--git-dir", this.mirrorOf(url), "--work-tree", work, "read-tree", "--end-of-options", `${commit}^{tree}`], { step: "read-tree", env });
      await git(["--git-dir", this.mirrorOf(url), "--work-tree", work, "checkout-index", "--all", "--force"], { step: "checkout", env });
      rmSync(join(work, ".berth-index"), { force: true });
      writeFileSync(join(work, ".berth-checkout"), `${commit}\n`);
      if (existsSync(join(final, ".berth-checkout"))) {
        rmSync(work, { recursive: true, force: true });
        return final;
      }
      rmSync(final, { recursive: true, force: true });
      renameSync(work, final);
      return final;
    } catch (e) {
      rmSync(work, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Digest of the part of `commit`'s tree a service builds from (paths, modes and blob ids of
   * the filtered files). Two commits with the same digest build the same thing. Synchronous
   * (`git ls-tree` of a local mirror takes milliseconds) so a sync can call it inline.
   */
  filteredTreeDigest(url: string, commit: string, filter: PathFilter): string {
    validateCommit(commit);
    let out: string;
    try {
      out = execFileSync("git", ["--git-dir", this.mirrorOf(url), "ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit], {
        env: { ...GIT_ENV },
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      throw new BerthError("BERTH_GIT_FAILED", { step: "ls-tree", detail: String((e as { stderr?: string }).stderr ?? e).trim().slice(0, 500) }, { cause: e });
    }
    const hash = createHash("sha256");
    for (const entry of out.split("\0")) {
      const tab = entry.indexOf("\t");
      if (tab < 0) continue;
      const path = entry.slice(tab + 1);
      if (inFilter(filter, path)) hash.update(entry).update("\0");
    }
    return hash.digest("hex");
  }
}
