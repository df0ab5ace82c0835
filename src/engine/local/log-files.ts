/**
 * Per-instance log files: every output line gets a timestamp and its stream and is appended to
 * `<dir>/<instance>.log` as `ISO-TIME out|err TEXT`; a file past `maxFileBytes` is rotated to
 * `.1`, `.2`, ... keeping `keepFiles` old ones, so an instance never holds more than
 * `maxFileBytes * (keepFiles + 1)` on disk.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { LogLine, LogSelector } from "../engine.ts";

export interface LogLimits {
  readonly maxFileBytes: number;
  readonly keepFiles: number;
  /** Longer lines are cut into pieces of this size. */
  readonly maxLineBytes: number;
}

export const defaultLogLimits: LogLimits = { maxFileBytes: 5 * 1024 * 1024, keepFiles: 2, maxLineBytes: 16 * 1024 };

/** Serializes one line as stored on disk. */
export function formatLogLine(line: LogLine): string {
  return `${line.at} ${line.stream === "stdout" ? "out" : "err"} ${line.line}\n`;
}

/** Parses one stored line; undefined for anything malformed. */
export function parseLogLine(text: string, instance: string): LogLine | undefined {
  const a = text.indexOf(" ");
  const b = text.indexOf(" ", a + 1);
  if (a < 0 || b < 0) return undefined;
  const tag = text.slice(a + 1, b);
  if (tag !== "out" && tag !== "err") return undefined;
  return { at: text.slice(0, a), instance, stream: tag === "out" ? "stdout" : "stderr", line: text.slice(b + 1) };
}

/** Appends lines of one instance to its file, rotating by size. */
export class LogFile {
  readonly #path: string;
  readonly #limits: LogLimits;
  #fd: number;
  #size: number;

  /** Lines arrive already redacted (LogPump / runTask mask them before any sink, issue 9). */
  constructor(dir: string, instance: string, limits: LogLimits) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#path = join(dir, `${instance}.log`);
    this.#limits = limits;
    this.#fd = openSync(this.#path, "a", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  append(lines: readonly LogLine[]): void {
    if (lines.length === 0) return;
    const buf = Buffer.from(lines.map(formatLogLine).join(""));
    if (this.#size > 0 && this.#size + buf.length > this.#limits.maxFileBytes) this.#rotate();
    writeSync(this.#fd, buf);
    this.#size += buf.length;
  }

  #rotate(): void {
    closeSync(this.#fd);
    const keep = this.#limits.keepFiles;
    rmSync(`${this.#path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${this.#path}.${i}`)) renameSync(`${this.#path}.${i}`, `${this.#path}.${i + 1}`);
    if (keep > 0) renameSync(this.#path, `${this.#path}.1`);
    else rmSync(this.#path, { force: true });
    this.#fd = openSync(this.#path, "a", 0o600);
    this.#size = 0;
  }

  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
  }
}

/** Splits a byte stream into lines, holding back a trailing partial line. */
export class LineSplitter {
  #rest = "";
  readonly #maxLineBytes: number;
  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }
  push(chunk: string): string[] {
    const parts = (this.#rest + chunk).split("\n");
    this.#rest = parts.pop() ?? "";
    const out: string[] = [];
    for (const p of parts) for (let i = 0; i === 0 || i < p.length; i += this.#maxLineBytes) out.push(p.slice(i, i + this.#maxLineBytes).replace(/\r$/, ""));
    while (this.#rest.length > this.#maxLineBytes) {
      out.push(this.#rest.slice(0, this.#maxLineBytes));
      this.#rest = this.#rest.slice(this.#maxLineBytes);
    }
    return out;
  }
  /** The trailing partial line, at end of stream. */
  flush(): string[] {
    const r = this.#rest;
    this.#rest = "";
    return r ? [r] : [];
  }
}

/** `<instance>.log` and its rotated `<instance>.log.N`. */
const LOG_FILE = /\.log(\.\d+)?$/;

/**
 * Time-based retention: the log files of instances that no longer run, last written more than
 * `retentionMs` ago, are removed (rotation bounds what one instance holds, but every deploy
 * replaces instances, and their files were kept forever). Walks `<root>/<project>/<env>/<service>`;
 * returns the files removed.
 */
export function pruneLogs(root: string, running: ReadonlySet<string>, nowMs: number, retentionMs: number): string[] {
  const removed: string[] = [];
  const dirs = (d: string) => (existsSync(d) ? readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name)) : []);
  for (const service of dirs(root).flatMap(dirs).flatMap(dirs)) {
    const byInstance = new Map<string, string[]>();
    for (const f of readdirSync(service)) {
      if (!LOG_FILE.test(f)) continue;
      const instance = f.replace(LOG_FILE, "");
      byInstance.set(instance, [...(byInstance.get(instance) ?? []), join(service, f)]);
    }
    for (const [instance, files] of byInstance) {
      if (running.has(instance)) continue;
      const last = Math.max(...files.map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0));
      if (nowMs - last <= retentionMs) continue;
      for (const f of files) rmSync(f, { force: true });
      removed.push(...files);
    }
  }
  return removed;
}

/** Reads the stored lines of a service directory (all instances, or one), oldest first. */
export function readLogDir(dir: string, selector: LogSelector): LogLine[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => LOG_FILE.test(f));
  const out: LogLine[] = [];
  const instances = new Set(files.map((f) => f.replace(LOG_FILE, "")));
  for (const instance of instances) {
    if (selector.instance && instance !== selector.instance) continue;
    const rotated = files
      .filter((f) => f.startsWith(`${instance}.log.`))
      .map((f) => Number(f.slice(instance.length + 5)))
      .sort((a, b) => b - a)
      .map((n) => `${instance}.log.${n}`);
    for (const f of [...rotated, `${instance}.log`]) {
      let text: string;
      try {
        text = readFileSync(join(dir, f), "utf8");
      } catch {
        continue;
      }
      for (const raw of text.split("\n")) {
        if (!raw) continue;
        const line = parseLogLine(raw, instance);
        if (line && matches(line, selector)) out.push(line);
      }
    }
  }
  // ISO timestamps sort as strings; the sort is stable, so one instance's order is kept.
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

export function matches(line: LogLine, selector: LogSelector): boolean {
  if (selector.instance && line.instance !== selector.instance) return false;
  if (selector.sinceMs !== undefined && Date.parse(line.at) < selector.sinceMs) return false;
  if (selector.grep && !line.line.includes(selector.grep)) return false;
  return true;
}
