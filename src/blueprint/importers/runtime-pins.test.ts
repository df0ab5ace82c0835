import assert from "node:assert/strict";
import { test } from "node:test";
import type { Blueprint } from "../index.ts";
import { importText, type ImportResult, type RepoFiles } from "./index.ts";

function valid(r: ImportResult): Blueprint {
  if (!r.validation.ok) assert.fail(`${r.yaml}\n${JSON.stringify(r.validation.errors, null, 1)}`);
  return r.validation.blueprint;
}
const repo = (files: Record<string, string>): RepoFiles => ({ read: (p) => files[p] });
const warnings = (r: ImportResult) => r.warnings.map((w) => w.message);

test("Render: runtime and NODE_VERSION become Berth's runtime settings, with notes", () => {
  const r = importText(
    "render",
    "services:\n  - type: web\n    name: api\n    runtime: node\n    startCommand: npm start\n    envVars:\n      - key: NODE_VERSION\n        value: ~16.13.0\n      - key: LOG_LEVEL\n        value: info\n",
    { file: "render.yaml", project: "p" },
  );
  const api = valid(r).services[0]!;
  assert.equal(api.build.runtime, "node");
  assert.equal(api.build.nodeVersion, "~16.13.0");
  assert.deepEqual(Object.keys(api.env), ["LOG_LEVEL"], "NODE_VERSION is a setting, not a variable");
  assert.match(r.yaml, /# From Render's NODE_VERSION\. Berth installs this Node\.js from the npm registry/);
  assert.match(r.yaml, /# Render runtime 'node': Berth provides Node\.js as the repository pins it/);
  assert.deepEqual(warnings(r), []);
});

test("Render: a NODE_VERSION that disagrees with the repository's pin is an approximation (Berth lets the file win)", () => {
  const r = importText("render", "services:\n  - type: web\n    name: api\n    runtime: node\n    rootDir: apps/api\n    envVars:\n      - { key: NODE_VERSION, value: '20' }\n", {
    file: "render.yaml",
    project: "p",
    repo: repo({ "apps/api/package.json": '{"engines":{"node":"<=16.x"}}' }),
  });
  assert.equal(valid(r).services[0]!.build.nodeVersion, "20");
  const w = r.warnings.find((d) => d.code === "BERTH_BLUEPRINT_IMPORT_APPROXIMATE")!;
  assert.match(w.message, /Render lets NODE_VERSION \(20\) override package\.json engines\.node \(<=16\.x\); Berth builds with package\.json engines\.node/);
  assert.equal(w.line, 7, "located at the variable");
});

test("Render: PYTHON_VERSION is carried, with the warning that Berth does not download Python", () => {
  const r = importText("render", "services:\n  - type: web\n    name: books\n    runtime: python\n    envVars:\n      - key: PYTHON_VERSION\n        value: 3.11.4\n", { file: "render.yaml", project: "p" });
  assert.equal(valid(r).services[0]!.build.pythonVersion, "3.11.4");
  assert.match(warnings(r).join("\n"), /PYTHON_VERSION 3\.11\.4 is honoured only if that Python is installed where Berth runs/);
});

test("Render: a version Berth cannot read is left out with a warning, and the blueprint stays valid", () => {
  const r = importText("render", "services:\n  - type: web\n    name: api\n    envVars:\n      - { key: NODE_VERSION, value: iojs }\n", { file: "render.yaml", project: "p" });
  assert.equal(valid(r).services[0]!.build.nodeVersion, undefined);
  assert.match(warnings(r).join("\n"), /NODE_VERSION 'iojs' is not a Node\.js version Berth understands/);
});

test("Railway: Nixpacks providers and NIXPACKS_NODE_VERSION; unknown providers are approximations", () => {
  const json = JSON.stringify({ build: { builder: "NIXPACKS", nixpacksPlan: { providers: ["node"] } }, deploy: { startCommand: "node server.js" }, variables: { NIXPACKS_NODE_VERSION: "18" } }, null, 2);
  const r = importText("railway", json, { file: "railway.json", project: "p" });
  const s = valid(r).services[0]!;
  assert.equal(s.build.runtime, "node");
  assert.equal(s.build.nodeVersion, "18");
  assert.match(r.yaml, /Railway Nixpacks provider 'node'/);
  const go = importText("railway", JSON.stringify({ build: { nixpacksPlan: { providers: ["go"], phases: { setup: { nixPkgs: ["ffmpeg"] } } } } }), { file: "railway.json", project: "p" });
  valid(go);
  assert.match(warnings(go).join("\n"), /Nixpacks provider 'go' has no Berth runtime/);
  assert.match(warnings(go).join("\n"), /Nixpacks phases .* were not imported/);
});

test("Heroku: buildpacks become runtimes; other buildpacks are approximations; .node-version noted", () => {
  const app = JSON.stringify({ buildpacks: [{ url: "heroku/nodejs" }, { url: "https://github.com/jontewks/puppeteer-heroku-buildpack" }], env: { NODE_VERSION: { value: "22" } } });
  const r = importText("procfile", "web: npm start\nworker: node worker.js\n", { file: "Procfile", project: "p", companion: { file: "app.json", text: app }, repo: repo({ ".node-version": "22\n" }) });
  const bp = valid(r);
  for (const s of bp.services) {
    assert.equal(s.build.runtime, "node");
    assert.equal(s.build.nodeVersion, "22");
  }
  assert.match(warnings(r).join("\n"), /buildpack 'https:\/\/github\.com\/jontewks\/puppeteer-heroku-buildpack' has no Berth equivalent/);
  assert.equal(bp.envGroups.length, 0, "the only variable was the version");
  const noted = importText("render", "services:\n  - type: web\n    name: api\n", { file: "render.yaml", project: "p", repo: repo({ ".node-version": "22\n" }) });
  assert.match(noted.yaml, /# Node\.js from \.node-version \(22\): Berth's build installs that version\./);
});
