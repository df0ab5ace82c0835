/**
 * A Python service's virtualenv: made from the chosen interpreter with
 * `--system-site-packages` (so Debian's python3-* packages count as installed), at `.venv` in
 * the service's directory. Build commands, the start command, preDeploy and cron run inside it
 * (`VIRTUAL_ENV`, its `bin/` first on PATH), as on Render, so `pip install -r requirements.txt`
 * works where the system pip refuses (PEP 668).
 */
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import type { StepTail } from "../run-command.ts";
import { capture } from "./capture.ts";
import { pipErrorLines, type PythonInstallPlan } from "./python-deps.ts";
import type { Interpreter } from "./python-version.ts";

export const VENV_DIR = ".venv";

/** Interpreters under /usr (what a sandboxed build can see), Debian's python3 first. */
export async function findInterpreters(signal: AbortSignal): Promise<Interpreter[]> {
  const candidates = ["/usr/bin/python3"];
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (/^python3(\.\d+)?$/.test(f)) candidates.push(join(dir, f));
  }
  const seen = new Set<string>();
  const out: Interpreter[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const real = realpathSync(path);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = await capture([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], { env: { PATH: "/usr/bin:/bin" }, timeoutMs: 10_000, signal }).then(
      (v) => v.trim(),
      () => undefined,
    );
    if (version) out.push({ path, version });
  }
  return out;
}

/** The variables and PATH entries of a virtualenv at `venv` (an absolute path). */
export function venvEnv(venv: string): { env: Record<string, string>; path: string[] } {
  return { env: { VIRTUAL_ENV: venv }, path: [join(venv, "bin")] };
}

/** pip's common flags: never prompt; build with the installed setuptools (no index is assumed). */
const PIP = ["install", "--no-input", "--disable-pip-version-check", "--no-build-isolation"];

/**
 * Prints which requirement lines are not met by what the virtualenv already sees (markers
 * evaluated, versions checked with pip's own `packaging`). A constant program; the requirements
 * arrive as arguments.
 */
const UNMET = [
  "import json, sys",
  "from importlib import metadata",
  "from pip._vendor.packaging.requirements import Requirement",
  "out = []",
  "for line in sys.argv[1:]:",
  "    r = Requirement(line)",
  "    if r.marker is not None and not r.marker.evaluate():",
  "        continue",
  "    try:",
  "        v = metadata.version(r.name)",
  "    except metadata.PackageNotFoundError:",
  "        out.append(line); continue",
  "    if r.specifier and not r.specifier.contains(v, prereleases=True):",
  "        out.append(line)",
  "print(json.dumps(out))",
].join("\n");

export interface PipSteps {
  readonly venv: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly step: (argv: readonly string[], label: string) => Promise<void>;
}

/**
 * Installs a project's dependencies by plan. Derived requirement lists (pyproject.toml, Pipfile)
 * install only what is not already met: a requirement Debian already satisfies is left as it is,
 * because pip would otherwise re-resolve Debian's own packages against their metadata (Debian
 * 12's fastapi 0.92 declares starlette<0.26 while Debian ships 0.26.1) and reach for an index.
 */
export async function installPythonDeps(plan: PythonInstallPlan, o: PipSteps): Promise<void> {
  const pip = join(o.venv, "bin", "pip");
  const python = join(o.venv, "bin", "python");
  switch (plan.kind) {
    case "none":
      return;
    case "requirements-file":
      return o.step([pip, ...PIP, "-r", plan.file], "pip");
    case "project":
      return o.step([pip, ...PIP, "."], "pip");
    case "requirements": {
      for (const w of plan.warnings) o.log(`warning: ${w}`);
      if (plan.requirements.length > 0) {
        const out = await capture([python, "-c", UNMET, ...plan.requirements], { env: o.env, cwd: o.cwd, timeoutMs: 60_000, signal: o.signal }).catch((e: Error) => {
          throw new BerthError("BERTH_BUILD_MANIFEST_INVALID", { file: plan.source, detail: `a requirement is not valid PEP 508: ${e.message.split("\n").at(-1)}` });
        });
        const unmet = JSON.parse(out) as string[];
        const met = plan.requirements.filter((r) => !unmet.includes(r));
        if (met.length) o.log(`${plan.source}: already installed on this machine: ${met.join(", ")}`);
        if (unmet.length) await o.step([pip, ...PIP, ...unmet], "pip");
      }
      if (plan.installProject) await o.step([pip, ...PIP, "--no-deps", "."], "pip");
      return;
    }
  }
}

/**
 * A failed step whose output has pip's `ERROR:` lines fails with those lines in the message, so
 * the deploy's output says what pip could not install rather than "exited with 1".
 */
export function withPipErrors(e: unknown): unknown {
  if (!(e instanceof BerthError) || e.code !== "BERTH_BUILD_FAILED") return e;
  const tail = (e.details as readonly StepTail[] | undefined)?.find((d) => d?.kind === "step-tail");
  const errors = tail ? pipErrorLines(tail.lines) : [];
  if (errors.length === 0) return e;
  return new BerthError("BERTH_BUILD_PIP_FAILED", { step: tail!.step, errors: errors.join("; ") }, { details: e.details, cause: e });
}

/**
 * The step that points a virtualenv built in `from` at `to` (its scripts' shebangs, pyvenv.cfg and
 * .pth files name the directory), run in the build directory as the build's user before the
 * rename. Only regular files (`find -type f`): a link the build planted is never written through.
 * The paths are Berth's own (artifacts dir + digest), passed as arguments, never spliced.
 */
export function relocateVenvArgv(from: string, to: string): string[] {
  const script = [
    'from=$1; to=$2; cd "$from/.venv" || exit 0',
    'find bin lib pyvenv.cfg -maxdepth 4 -type f \\( -path "bin/*" -o -name "*.pth" -o -name pyvenv.cfg \\) -size -1000k 2>/dev/null |',
    'while IFS= read -r f; do if grep -qF -- "$from" "$f"; then sed -i "s#$from#$to#g" "$f"; fi; done',
    "exit 0",
  ].join("\n");
  return ["/bin/sh", "-c", script, "relocate-venv", from, to];
}
