/**
 * Logs from the service logs API: Swarm gathers every task's output from whichever node runs it.
 * Each line comes with its timestamp and task id (`details`), which maps to a Berth instance (or
 * a one-off task's id). Lines are redacted here, before anything reads them; dockerd's own log
 * files hold the raw output (see docs/design/engine-swarm.md).
 */
import type { LogLine, LogSelector } from "../engine.ts";
import { type DockerApi, demuxLines } from "./docker-api.ts";
import { L } from "./service-spec.ts";
import type { DockerService } from "./swarm-engine.ts";

export interface SwarmLogSource {
  readonly docker: DockerApi;
  readonly redact: (text: string) => string;
  /** The Swarm services of the selected Berth service: its long-running one and its task runs. */
  services(): Promise<DockerService[]>;
  /** Task id -> instance id (or task run id) for these Swarm services. */
  instanceOf(serviceIds: string[]): Promise<Map<string, string>>;
}

/** Pure: one line of the logs API with `timestamps` and `details`: `<time> <k=v,...> <text>`. */
export function parseLogLine(raw: string): { at: string; taskId?: string; text: string } | undefined {
  const sp = raw.indexOf(" ");
  if (sp < 0) return undefined;
  const at = new Date(raw.slice(0, sp));
  if (Number.isNaN(at.getTime())) return undefined;
  let rest = raw.slice(sp + 1);
  let taskId: string | undefined;
  const sp2 = rest.indexOf(" ");
  const head = sp2 < 0 ? rest : rest.slice(0, sp2);
  if (head.startsWith("com.docker.swarm.")) {
    taskId = /(?:^|,)com\.docker\.swarm\.task\.id=([^,]+)/.exec(head)?.[1];
    rest = sp2 < 0 ? "" : rest.slice(sp2 + 1);
  }
  return { at: at.toISOString(), ...(taskId ? { taskId } : {}), text: rest };
}

function keep(l: LogLine, selector: LogSelector): boolean {
  if (selector.instance && l.instance !== selector.instance) return false;
  if (selector.grep && !l.line.includes(selector.grep)) return false;
  return true;
}

async function* serviceLines(src: SwarmLogSource, svc: DockerService, selector: LogSelector, follow: boolean, signal?: AbortSignal): AsyncGenerator<LogLine> {
  const res = await src.docker.open({
    path: `/services/${svc.ID}/logs`,
    query: { stdout: 1, stderr: 1, timestamps: 1, details: 1, follow: follow ? 1 : undefined, since: selector.sinceMs ? Math.floor(selector.sinceMs / 1000) : undefined },
    ...(signal ? { signal } : {}),
  });
  let ids = await src.instanceOf([svc.ID]);
  for await (const { stream, line } of demuxLines(res)) {
    const p = parseLogLine(line);
    if (!p) continue;
    if (p.taskId && !ids.has(p.taskId)) ids = await src.instanceOf([svc.ID]);
    const task = svc.Spec.Labels?.[L.task];
    const instance = task ?? (p.taskId ? (ids.get(p.taskId) ?? p.taskId) : "");
    yield { at: p.at, instance, stream, line: src.redact(p.text) };
  }
}

/** The logs of one Berth service: what is there, in time order; with `follow`, then new lines until aborted. */
export async function* readLogs(src: SwarmLogSource, selector: LogSelector): AsyncGenerator<LogLine> {
  if (!selector.follow) {
    const services = (await src.services()).filter((s) => !selector.instance || !s.Spec.Labels?.[L.task] || s.Spec.Labels[L.task] === selector.instance);
    const all: LogLine[] = [];
    for (const svc of services) for await (const l of serviceLines(src, svc, selector, false)) if (keep(l, selector)) all.push(l);
    yield* all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return;
  }
  const signal = selector.signal;
  let main: DockerService | undefined;
  while (!signal?.aborted) {
    main = (await src.services()).find((s) => s.Spec.Labels?.[L.role] === "service");
    if (main) break;
    await new Promise<void>((r) => {
      const t = setTimeout(r, 250);
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          r();
        },
        { once: true },
      );
    });
  }
  if (!main || signal?.aborted) return;
  try {
    for await (const l of serviceLines(src, main, selector, true, signal)) if (keep(l, selector)) yield l;
  } catch (e) {
    if (!signal?.aborted) throw e;
  }
}
