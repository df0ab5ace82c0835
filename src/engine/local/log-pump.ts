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

  constructor(instance: string, pipes: OutputPipes, file: LogFile, limits: LogLimits, onLine: (line: LogLine) => void) {
    this.#file = file;
    for (const [stream, path] of [["stdout", pipes.out], ["stderr", pipes.err]] as const) {
      const split = new LineSplitter(limits.maxLineBytes);
      const reader = openPipeReader(path);
      reader.setEncoding("utf8");
      const emit = (texts: string[]): void => {
        if (texts.length === 0) return;
        const at = new Date().toISOString();
        const lines = texts.map((line) => ({ at, instance, stream, line }));
        file.append(lines);
        for (const l of lines) onLine(l);
      };
      reader.on("data", (chunk: string) => emit(split.push(chunk)));
      reader.on("end", () => emit(split.flush()));
      reader.on("error", () => {});
      this.#readers.push(reader);
    }
  }

  close(): void {
    for (const r of this.#readers) r.destroy();
    this.#file.close();
  }
}
