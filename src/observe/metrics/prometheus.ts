/**
 * The Prometheus text exposition (format 0.0.4) of the collector's running totals. Names are
 * prefixed `berth_`; every series carries project, environment and service labels (and
 * instance for per-instance series). Histograms use fixed `le` bounds in seconds.
 */
import type { Total } from "./collector.ts";
import { cumulative, PROM_BUCKETS_S } from "./histogram.ts";

interface Family {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
  /** Extra label from the series name (the status class). */
  readonly label?: [string, string];
}

/** Berth series name -> Prometheus family. */
function familyOf(name: string): Family | undefined {
  const cls = /^http\.(\dxx|other)$/.exec(name);
  if (cls) return { name: "berth_http_requests_total", type: "counter", help: "Requests through the router, by status class.", label: ["code", cls[1]!] };
  switch (name) {
    case "http.latency":
      return { name: "berth_http_request_duration_seconds", type: "histogram", help: "Request latency at the router (HAProxy %Ta)." };
    case "cpu.percent":
      return { name: "berth_instance_cpu_percent", type: "gauge", help: "CPU use, percent of one core." };
    case "memory.bytes":
      return { name: "berth_instance_memory_bytes", type: "gauge", help: "Resident memory of the instance's processes." };
    case "memory.percent":
      return { name: "berth_instance_memory_percent", type: "gauge", help: "Memory use, percent of the limit." };
    case "instances":
      return { name: "berth_service_instances", type: "gauge", help: "Running instances." };
    case "restarts":
      return { name: "berth_instance_restarts_total", type: "counter", help: "Restarts after an exit." };
    case "oom":
      return { name: "berth_instance_oom_kills_total", type: "counter", help: "Out-of-memory kills." };
    case "cron.succeeded":
      return { name: "berth_cron_runs_total", type: "counter", help: "Cron runs by outcome.", label: ["outcome", "succeeded"] };
    case "cron.failed":
      return { name: "berth_cron_runs_total", type: "counter", help: "Cron runs by outcome.", label: ["outcome", "failed"] };
    case "cron.missed":
      return { name: "berth_cron_missed_slots_total", type: "counter", help: "Cron slots that did not run on time." };
    case "cron.duration":
      return { name: "berth_cron_run_duration_seconds", type: "histogram", help: "Duration of successful cron runs." };
    case "queue.length":
      return { name: "berth_queue_length", type: "gauge", help: "Length of a declared queue (Redis list)." };
    default: {
      // Datastores: pg.connections -> berth_pg_connections, redis.used_memory -> berth_redis_used_memory.
      const ds = /^(pg|redis)\.([a-z_]+)$/.exec(name);
      if (ds) return { name: `berth_${ds[1]}_${ds[2]}`, type: "gauge", help: `Managed ${ds[1] === "pg" ? "PostgreSQL" : "Redis"}: ${ds[2]!.replace(/_/g, " ")}.` };
      return undefined;
    }
  }
}

const esc = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** Renders the totals; `visible` filters by project (scoped tokens). */
export function renderPrometheus(totals: readonly Total[], visible: (project: string) => boolean = () => true): string {
  const byFamily = new Map<string, { f: Family; lines: string[] }>();
  for (const t of totals) {
    if (!visible(t.key.project)) continue;
    const f = familyOf(t.key.name);
    if (!f) continue;
    let fam = byFamily.get(f.name);
    if (!fam) {
      fam = { f, lines: [] };
      byFamily.set(f.name, fam);
    }
    const labels = [`project="${esc(t.key.project)}"`, `environment="${esc(t.key.environment)}"`, `service="${esc(t.key.service)}"`];
    if (t.key.instance) labels.push(`instance_id="${esc(t.key.instance)}"`);
    if (f.label) labels.push(`${f.label[0]}="${esc(f.label[1])}"`);
    const l = labels.join(",");
    if (f.type === "histogram") {
      const cum = cumulative(t.hist ?? {});
      for (const [i, le] of PROM_BUCKETS_S.entries()) fam.lines.push(`${f.name}_bucket{${l},le="${le}"} ${cum[i]}`);
      fam.lines.push(`${f.name}_bucket{${l},le="+Inf"} ${cum.at(-1)}`);
      fam.lines.push(`${f.name}_sum{${l}} ${t.sum / 1000}`);
      fam.lines.push(`${f.name}_count{${l}} ${t.value}`);
    } else {
      fam.lines.push(`${f.name}{${l}} ${t.value}`);
    }
  }
  const out: string[] = [];
  for (const { f, lines } of byFamily.values()) out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...lines);
  return out.length ? `${out.join("\n")}\n` : "";
}
