/**
 * A service's metrics (issue 18's API): requests, errors, p95, CPU and memory over the last hour,
 * drawn with uPlot — loaded on demand, so the overview's first render does not pay for it.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.ts";

interface Series {
  readonly t: number[];
  readonly requests: number[];
  readonly errors: number[];
  readonly p95: (number | null)[];
  readonly cpuPercent: (number | null)[];
  readonly memoryBytes: (number | null)[];
}

const CHARTS: readonly { key: keyof Omit<Series, "t">; label: string; scale?: (v: number) => number }[] = [
  { key: "requests", label: "Requests" },
  { key: "errors", label: "5xx errors" },
  { key: "p95", label: "p95 latency (ms)" },
  { key: "cpuPercent", label: "CPU (%)" },
  { key: "memoryBytes", label: "Memory (MB)", scale: (v) => v / 1_048_576 },
];

export function Metrics(props: { svcPath: string }) {
  const [series, setSeries] = useState<Series | null | undefined>(undefined);
  useEffect(() => {
    api<{ series: Series }>("GET", `${props.svcPath}/metrics?since=1h` as `/v1/${string}`).then(
      (r) => setSeries(r.series),
      () => setSeries(null),
    );
  }, [props.svcPath]);
  return (
    <section aria-labelledby="metrics">
      <h2 id="metrics">Metrics (last hour)</h2>
      {series === null && <p>Metrics are off in this daemon.</p>}
      {series && (
        <div class="charts">
          {CHARTS.map((c) => (
            <Chart key={c.key} label={c.label} t={series.t} values={series[c.key].map((v) => (v === null ? null : c.scale ? c.scale(v) : v))} />
          ))}
        </div>
      )}
    </section>
  );
}

function Chart(props: { label: string; t: number[]; values: (number | null)[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let plot: { destroy(): void } | undefined;
    let gone = false;
    void Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")]).then(([{ default: UPlot }]) => {
      if (gone || !box.current) return;
      const width = Math.max(240, Math.min(560, box.current.clientWidth));
      plot = new UPlot({ width, height: 140, legend: { show: false }, series: [{}, { label: props.label, stroke: "#1d4ed8", width: 1.5 }] }, [props.t, props.values], box.current);
    });
    return () => {
      gone = true;
      plot?.destroy();
    };
  }, [props.t, props.values, props.label]);
  const last = [...props.values].reverse().find((v) => v !== null);
  return (
    <figure class="chart">
      <figcaption>
        {props.label}: {last === undefined || last === null ? "no data" : Math.round(last * 10) / 10}
      </figcaption>
      <div ref={box} role="img" aria-label={`${props.label} over the last hour`} />
    </figure>
  );
}
