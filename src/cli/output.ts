/**
 * CLI output: human tables or `--json`, colour only on a TTY without NO_COLOR, errors mapped to
 * the catalogue's exit codes in one place.
 */
import { toBerthError } from "../core/errors.ts";

export interface Out {
  readonly json: boolean;
  readonly color: boolean;
}

export function outFor(opts: { json?: boolean }, stream: NodeJS.WriteStream = process.stdout): Out {
  return { json: !!opts.json, color: !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== "dumb" };
}

const CODES: Record<string, string> = { red: "31", green: "32", yellow: "33", dim: "2", bold: "1", cyan: "36" };
export function paint(out: Out, color: keyof typeof CODES | string, text: string): string {
  return out.color && CODES[color] ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns, no box drawing (pipes well into grep/awk). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()).join("\n");
}

/** Prints an error (one line + hint) and returns the exit code for it. */
export function reportError(e: unknown, json: boolean): number {
  const err = toBerthError(e);
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: err.toJSON() })}\n`);
  } else {
    process.stderr.write(`error: ${err.message} [${err.code}]\n`);
    const details = (err.details ?? []) as { file?: string; line?: number; column?: number; message?: string; hint?: string; field?: string }[];
    for (const d of details.slice(0, 20)) {
      if (d.line !== undefined) process.stderr.write(`  ${d.file}:${d.line}:${d.column}  ${d.message}${d.hint ? `\n      hint: ${d.hint}` : ""}\n`);
      else if (d.field) process.stderr.write(`  ${d.field}: ${d.message}\n`);
    }
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
  }
  return err.exitCode;
}

/** A progress line on stderr for long operations (rewritten in place on a TTY). */
export function progress(out: Out): { update(text: string): void; done(text: string): void } {
  const tty = !!process.stderr.isTTY && !out.json;
  let last = "";
  return {
    update(text) {
      if (out.json || text === last) return;
      last = text;
      process.stderr.write(tty ? `\r\u001b[2K${text}` : `${text}\n`);
    },
    done(text) {
      if (out.json) return;
      process.stderr.write(tty ? `\r\u001b[2K${text}\n` : `${text}\n`);
    },
  };
}
