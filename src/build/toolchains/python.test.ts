import assert from "node:assert/strict";
import { test } from "node:test";
import { BerthError } from "../../core/errors.ts";
import { withPipErrors } from "./python.ts";
import { pipErrorLines, pipfileRequirements, poetrySpecifier, pyprojectRequirements, pythonInstallPlan } from "./python-deps.ts";
import { choosePython, pythonPins } from "./python-version.ts";

const DEBIAN = { path: "/usr/bin/python3", version: "3.11.2" };
const LOCAL = { path: "/usr/local/bin/python3.12", version: "3.12.1" };

test("pins: .python-version, then runtime.txt, then pythonVersion, then PYTHON_VERSION", () => {
  const pins = pythonPins({ pythonVersionFile: "3.12\n", runtimeTxt: "python-3.11.4\n" }, { pythonVersion: "3.10", envVar: "3.9" });
  assert.deepEqual(pins.map((p) => p.where), [".python-version:1", "runtime.txt:1", "the blueprint's pythonVersion", "the PYTHON_VERSION variable"]);
});

test("a pinned Python on the machine is used; Debian's python3 otherwise, with a warning naming it", () => {
  assert.deepEqual(choosePython([], [DEBIAN, LOCAL]), { interpreter: DEBIAN, from: "default (the machine's python3)" });
  assert.equal(choosePython(pythonPins({ pythonVersionFile: "3.12" }), [DEBIAN, LOCAL])?.interpreter, LOCAL);
  assert.equal(choosePython(pythonPins({ runtimeTxt: "python-3.11.2" }), [DEBIAN, LOCAL])?.warning, undefined);
  const patch = choosePython(pythonPins({ runtimeTxt: "python-3.11.4" }), [DEBIAN, LOCAL])!;
  assert.equal(patch.interpreter, DEBIAN);
  assert.match(patch.warning!, /Python python-3\.11\.4 \(runtime\.txt:1\) is not on this machine; using Python 3\.11\.2 \(\/usr\/bin\/python3\), the same minor/);
  const missing = choosePython(pythonPins({}, { envVar: "3.13" }), [DEBIAN])!;
  assert.equal(missing.interpreter, DEBIAN);
  assert.match(missing.warning!, /Python 3\.13 \(the PYTHON_VERSION variable\) is not on this machine \(it has 3\.11\.2\); using Python 3\.11\.2 \(\/usr\/bin\/python3\)/);
  assert.match(choosePython(pythonPins({ pythonVersionFile: "pypy" }), [DEBIAN])!.warning!, /not a Python version/);
  assert.equal(choosePython([], []), undefined);
});

test("poetry specifiers become PEP 440", () => {
  assert.equal(poetrySpecifier("^1.2.3"), ">=1.2.3,<2");
  assert.equal(poetrySpecifier("^0.92"), ">=0.92,<0.93");
  assert.equal(poetrySpecifier("^0.0.3"), ">=0.0.3,<0.0.4");
  assert.equal(poetrySpecifier("~1.2"), ">=1.2,<1.3");
  assert.equal(poetrySpecifier("~1"), ">=1,<2");
  assert.equal(poetrySpecifier("2.0.1"), "==2.0.1");
  assert.equal(poetrySpecifier("*"), "");
  assert.equal(poetrySpecifier(">= 1.0, < 2"), ">=1.0,<2");
});

test("pyproject.toml: PEP 621 dependencies, or Poetry's; the project itself only when it is a package", () => {
  const pep621 = pyprojectRequirements('[project]\nname = "a"\ndependencies = ["fastapi>=0.90", "uvicorn"]\n');
  assert.deepEqual(pep621, { requirements: ["fastapi>=0.90", "uvicorn"], installProject: false, warnings: [] });
  const pkg = pyprojectRequirements('[project]\nname = "a"\ndependencies = []\n[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n');
  assert.equal(pkg.installProject, true);
  const poetry = pyprojectRequirements(
    '[tool.poetry]\nname = "a"\npackage-mode = false\n[tool.poetry.dependencies]\npython = "^3.11"\nflask = "^2.2"\nuvicorn = { version = "^0.17", extras = ["standard"] }\nlib = { path = "../lib" }\n[build-system]\nrequires = ["poetry-core"]\n',
  );
  assert.deepEqual(poetry.requirements, ["flask>=2.2,<3", "uvicorn[standard]>=0.17,<0.18"]);
  assert.equal(poetry.installProject, false);
  assert.match(poetry.warnings[0]!, /lib comes from a local path/);
  assert.throws(() => pyprojectRequirements("[project\n"), (e: unknown) => e instanceof BerthError && e.code === "BERTH_BUILD_MANIFEST_INVALID");
});

test("Pipfile: [packages], or Pipfile.lock's pins when committed", () => {
  const pipfile = '[packages]\nflask = "*"\nrequests = ">=2.28"\nuvicorn = {version = "*", extras = ["standard"]}\n[dev-packages]\npytest = "*"\n';
  assert.deepEqual(pipfileRequirements(pipfile).requirements, ["flask", "requests>=2.28", "uvicorn[standard]"]);
  const lock = JSON.stringify({ _meta: {}, default: { flask: { version: "==2.2.2" }, colorama: { version: "==0.4.6", markers: "platform_system == 'Windows'" } }, develop: { pytest: { version: "==7.0.0" } } });
  const locked = pipfileRequirements(pipfile, lock);
  assert.deepEqual(locked, { requirements: ["flask==2.2.2", "colorama==0.4.6 ; platform_system == 'Windows'"], source: "Pipfile.lock", warnings: [] });
});

test("install plan: requirements.txt as is, else pyproject, else Pipfile, else setup.py", () => {
  assert.deepEqual(pythonInstallPlan({ requirementsTxt: true, pyproject: "[project]\n", setupPy: true }), { kind: "requirements-file", file: "requirements.txt" });
  assert.equal(pythonInstallPlan({ requirementsTxt: false, pipfile: '[packages]\nflask = "*"\n', setupPy: false }).kind, "requirements");
  assert.deepEqual(pythonInstallPlan({ requirementsTxt: false, setupPy: true }), { kind: "project", source: "setup.py" });
  assert.deepEqual(pythonInstallPlan({ requirementsTxt: false, setupPy: false }), { kind: "none" });
});

test("pip's failure lines become the error's message", () => {
  const tail = ["Looking in links: /opt/wheels", "ERROR: Could not find a version that satisfies the requirement flask-nope (from versions: none)", "ERROR: No matching distribution found for flask-nope"];
  assert.deepEqual(pipErrorLines(tail), ["Could not find a version that satisfies the requirement flask-nope (from versions: none)", "No matching distribution found for flask-nope"]);
  const failed = new BerthError("BERTH_BUILD_FAILED", { step: "build", detail: "exited with 1" }, { details: [{ kind: "step-tail", step: "build", lines: tail }] });
  const e = withPipErrors(failed) as BerthError;
  assert.equal(e.code, "BERTH_BUILD_PIP_FAILED");
  assert.match(e.message, /pip could not install the dependencies \(step 'build'\): Could not find .*; No matching distribution found for flask-nope/);
  const other = new BerthError("BERTH_BUILD_FAILED", { step: "build", detail: "x" }, { details: [{ kind: "step-tail", step: "build", lines: ["npm ERR! x"] }] });
  assert.equal(withPipErrors(other), other);
});
