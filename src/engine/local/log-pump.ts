/**
 * Carries one instance's output from its FIFOs into its log file, a timestamp per line (taken
 * when the daemon reads the line: lines written while no daemon was running get the time they
 * were read at on adoption).
 */
import type { Socket } from "node:net";
import type { LogLine } from "../engine.ts";
import { type LogFile, type LogLimits, LineSplitter } from "./log-files.ts";
import { type OutputPipes, openPipeReader } from "./process-group.ts";

export class LogPump {
  readonly #readers: Socket[] = [];
  readonly #file: LogFile;
  /** Resolves when every writer of both pipes has closed them (the group is gone). */
  readonly ended: Promise<void>;

  constructor(
    instance: string,
    pipes: OutputPipes,
    file: LogFile,
    limits: LogLimits,
    onLine: (line: LogLine) => void,
    redact: (text: string) => string = (t) => t,
  ) {
    this.#file = file;
    const ends: Promise<void>[] = [];
    for (const [stream, path] of [["stdout", pipes.out], ["stderr", pipes.err]] as const) {
      const split = new LineSplitter(limits.maxLineBytes);
      const reader = openPipeReader(path);
      reader.setEncoding("utf8");
      const emit = (texts: string[]): void => {
        if (texts.length === 0) return;
        const at = new Date().toISOString();
        // Secrets are masked before the line is written anywhere.
        const lines = texts.map((line) => ({ at, instance, stream, line: redact(line) }));
        file.append(lines);
        for (const l of lines) onLine(l);
      };
      reader.on("data", (chunk: string) => emit(split.push(chunk)));
      ends.push(new Promise((done) => reader.once("close", () => done())));
      reader.on("end", () => emit(split.flush()));
      reader.on("error", () => {});
      this.#readers.push(reader);
    }
    this.ended = Promise.all(ends).then(() => {});
  }

  close(): void {
    for (const r of this.#readers) r.destroy();
    this.#file.close();
  }
}
