/**
 * A tiny job for real-time tests and the bench: appends JSON lines (start / end / stop on
 * SIGTERM) with its BERTH_RUN_ID, BERTH_SCHEDULED_AT and timestamps to a log file, then sleeps.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SCRIPT = `import { appendFileSync } from "node:fs";
const [log, sleepMs] = process.argv.slice(2);
const base = { id: process.env.BERTH_RUN_ID, slot: process.env.BERTH_SCHEDULED_AT, attempt: Number(process.env.BERTH_RUN_ATTEMPT) };
const write = (e) => appendFileSync(log, JSON.stringify({ e, ...base, pid: process.pid, t: Date.now() }) + "\\n");
write("start");
process.on("SIGTERM", () => { write("stop"); process.exit(143); });
setTimeout(() => { write("end"); }, Number(sleepMs));
`;

export interface JobLogLine {
  readonly e: "start" | "end" | "stop";
  readonly id: string;
  readonly slot: string;
  readonly attempt: number;
  readonly pid: number;
  readonly t: number;
}

/** Writes the job script into `dir`; returns the command line that runs it. */
export function jobCommand(dir: string, logPath: string, sleepMs: number): string {
  const script = join(dir, "job.mjs");
  writeFileSync(script, SCRIPT);
  return `'${process.execPath}' '${script}' '${logPath}' ${sleepMs}`;
}

export function readJobLog(logPath: string): JobLogLine[] {
  let text = "";
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as JobLogLine);
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
