/**
 * Git sources without a daemon: refs and URLs are validated before git ever sees them, build
 * filters select files, and a checkout is keyed by commit and holds that commit's files.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { GitSources, inFilter, validateBranch, validateCommit, validateRepoUrl } from "../../src/build/git-source.ts";
import { environmentsFollowing } from "../../src/reconcile/git-deploy.ts";
import { tempDir } from "../helpers/daemon.ts";
import { commit, initRepo } from "./helpers.ts";

describe("git sources", () => {
  test("branch names: plain names pass; options, revision syntax and traversal are refused", () => {
    for (const ok of ["main", "develop", "release/1.2", "feature_x-y"]) assert.equal(validateBranch(ok), ok);
    for (const bad of ["-delete", "--upload-pack=x", "a..b", "main@{1}", "a b", "x.lock", "a//b", "HEAD~1", "a:b", "", "ref/"]) {
      assert.throws(() => validateBranch(bad), { code: "BERTH_GIT_REF_INVALID" }, bad);
    }
    assert.throws(() => validateCommit("HEAD"), { code: "BERTH_GIT_REF_INVALID" });
    assert.equal(validateCommit("a".repeat(40)), "a".repeat(40));
  });

  test("repository locations: URLs, scp-like and absolute paths; never options or ext::", () => {
    for (const ok of ["https://github.com/acme/app.git", "ssh://git@host/app.git", "git@github.com:acme/app.git", "/srv/git/app.git", "file:///srv/app"]) assert.equal(validateRepoUrl(ok), ok);
    for (const bad of ["--upload-pack=touch /tmp/x", "ext::sh -c touch% /tmp/pwned", "relative/path", "https://x/a b", ""]) {
      assert.throws(() => validateRepoUrl(bad), { code: "BERTH_GIT_URL_INVALID" }, bad);
    }
  });

  test("build filters: rootDir by default, paths narrow, ignoredPaths win", () => {
    const api = { rootDir: "apps/api", paths: [], ignoredPaths: [] };
    assert.equal(inFilter(api, "apps/api/src/main.ts"), true);
    assert.equal(inFilter(api, "apps/web/index.ts"), false);
    const mono = { rootDir: "apps/api", paths: ["apps/api/**", "packages/shared"], ignoredPaths: ["**/*.md"] };
    assert.equal(inFilter(mono, "packages/shared/x.ts"), true);
    assert.equal(inFilter(mono, "apps/api/README.md"), false);
    assert.equal(inFilter({ rootDir: ".", paths: [], ignoredPaths: ["docs/**"] }, "server.js"), true);
    assert.equal(inFilter({ rootDir: ".", paths: [], ignoredPaths: ["docs/**"] }, "docs/a.md"), false);
  });

  test("environments follow their branch; the default branch covers undeclared ones", () => {
    const bp = { environments: [{ name: "production", branch: "main", autoDeploy: true, approvalRequired: false }, { name: "staging", branch: "develop", autoDeploy: false, approvalRequired: false }, { name: "qa", autoDeploy: true, approvalRequired: false }] };
    assert.deepEqual(environmentsFollowing(bp, "main", "main", true), ["production", "qa"]);
    assert.deepEqual(environmentsFollowing(bp, "develop", "main", true), [], "autoDeploy: false");
    assert.deepEqual(environmentsFollowing(bp, "develop", "main", false), ["staging"]);
    assert.deepEqual(environmentsFollowing({ environments: [] }, "main", "main", true), ["production"]);
  });

  test("fetch, checkout by commit, and a filtered tree digest that ignores unrelated commits", async () => {
    const repo = initRepo(join(tempDir(), "src"));
    const first = commit(repo, { "apps/api/index.js": "1", "apps/web/index.js": "1" });
    const sources = new GitSources({ cacheDir: tempDir() });
    assert.equal(await sources.fetch(repo, "main"), first);
    const second = commit(repo, { "apps/web/index.js": "2" });
    assert.equal(await sources.fetch(repo, "main"), second);
    const dir = await sources.checkout(repo, first);
    assert.ok(dir.endsWith(first));
    assert.equal(readFileSync(join(dir, "apps/web/index.js"), "utf8"), "1");
    assert.ok(!existsSync(join(dir, ".git")));
    assert.equal(await sources.checkout(repo, first), dir, "cached by commit");
    const api = { rootDir: "apps/api", paths: [], ignoredPaths: [] };
    const web = { rootDir: "apps/web", paths: [], ignoredPaths: [] };
    assert.equal(sources.filteredTreeDigest(repo, first, api), sources.filteredTreeDigest(repo, second, api));
    assert.notEqual(sources.filteredTreeDigest(repo, first, web), sources.filteredTreeDigest(repo, second, web));
    await assert.rejects(sources.fetch(repo, "nope"), { code: "BERTH_GIT_FAILED" });
    // A fresh cache (no mirror yet) fetches the branch to check out a recorded source.
    const fresh = new GitSources({ cacheDir: tempDir() });
    const again = await fresh.checkoutSource({ url: repo, ref: "main", revision: second });
    assert.equal(readFileSync(join(again, "apps/web/index.js"), "utf8"), "2");
    assert.equal(await sources.hasCommit(repo, "b".repeat(40)), false);
  });
});
