/**
 * Which Python a service's virtualenv is made from. Pins: `.python-version`, then `runtime.txt`
 * (`python-3.11.4`, Heroku's spelling), then the blueprint (`pythonVersion`, or a plain
 * `PYTHON_VERSION` variable, as Render reads it). Berth does not download Python (no package
 * index is assumed): a pin is honoured when an interpreter of that version is on the machine,
 * else the build says which one it used instead. Debian's /usr/bin/python3 is preferred, since
 * the virtualenv sees Debian's python3-* packages through it. Pure.
 */
import { pythonVersionParts } from "../../blueprint/runtime-versions.ts";
import type { VersionPin } from "./node-version.ts";

export interface PythonPinFiles {
  readonly pythonVersionFile?: string;
  readonly runtimeTxt?: string;
}

export interface PythonPinSettings {
  readonly pythonVersion?: string;
  readonly envVar?: string;
}

/** An interpreter found on the machine. */
export interface Interpreter {
  readonly path: string;
  /** `3.11.2` */
  readonly version: string;
}

export interface PythonChoice {
  readonly interpreter: Interpreter;
  readonly from: string;
  /** Set when the pin could not be honoured exactly: says what was asked and what is used. */
  readonly warning?: string;
}

function firstLine(text: string): { value: string; line: number } | undefined {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const value = lines[i]!.replace(/#.*$/, "").trim();
    if (value) return { value, line: i + 1 };
  }
  return undefined;
}

/** The pins found, highest precedence first. */
export function pythonPins(files: PythonPinFiles, settings: PythonPinSettings = {}): VersionPin[] {
  const pins: VersionPin[] = [];
  for (const [file, text] of [[".python-version", files.pythonVersionFile], ["runtime.txt", files.runtimeTxt]] as const) {
    const first = text === undefined ? undefined : firstLine(text);
    if (first) pins.push({ value: first.value, where: `${file}:${first.line}` });
  }
  if (settings.pythonVersion?.trim()) pins.push({ value: settings.pythonVersion.trim(), where: "the blueprint's pythonVersion" });
  if (settings.envVar?.trim()) pins.push({ value: settings.envVar.trim(), where: "the PYTHON_VERSION variable" });
  return pins;
}

const matches = (version: string, parts: readonly number[]) => parts.every((p, i) => Number(version.split(".")[i]) === p);

/**
 * The interpreter for a pin: one whose version starts with the pin's parts (Debian's first),
 * else one of the same minor (a patch differs: warned), else Debian's python3 (warned).
 */
export function choosePython(pins: readonly VersionPin[], interpreters: readonly Interpreter[]): PythonChoice | undefined {
  const fallback = interpreters[0];
  if (!fallback) return undefined;
  const pin = pins[0];
  if (!pin) return { interpreter: fallback, from: "default (the machine's python3)" };
  const asked = `${pin.where} "${pin.value}"`;
  const parts = pythonVersionParts(pin.value);
  if (!parts) return { interpreter: fallback, from: asked, warning: `'${pin.value}' in ${pin.where} is not a Python version; using Python ${fallback.version} (${fallback.path})` };
  const exact = interpreters.find((i) => matches(i.version, parts));
  if (exact) return { interpreter: exact, from: asked };
  const minor = parts.length > 2 ? interpreters.find((i) => matches(i.version, parts.slice(0, 2))) : undefined;
  if (minor) return { interpreter: minor, from: asked, warning: `Python ${pin.value} (${pin.where}) is not on this machine; using Python ${minor.version} (${minor.path}), the same minor version` };
  const have = interpreters.map((i) => i.version).join(", ");
  return { interpreter: fallback, from: asked, warning: `Python ${pin.value} (${pin.where}) is not on this machine (it has ${have}); using Python ${fallback.version} (${fallback.path}). Berth does not download Python: install it from the OS packages, or change the pin` };
}
