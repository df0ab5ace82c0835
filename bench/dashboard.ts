/**
 * The dashboard (issue 21): the served bundle's size (gzip), the overview's first render with 50
 * services in Debian's Chromium (median of 5 cold loads; one Chromium trace kept), and the
 * daemon's RSS over a window with the overview open (its event stream connected) against closed.
 * `berth server` as users run it (compiled dist/, memory engine, router off).
 * Usage: node bench/dashboard.ts [rss-window-seconds=60] (needs `bash scripts/build.sh` first)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { daemonCredentials } from "./daemon.ts";

const windowS = Number(process.argv[2] ?? 60);
const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "dist/cli/main.js");
const DASH = join(ROOT, "dist/dashboard");
const SERVICES = 50;

// 1. Bundle size: what the first load fetches, and what the service page adds on demand (uPlot).
const assets = readdirSync(join(DASH, "assets")).map((f) => ({ f, gz: gzipSync(readFileSync(join(DASH, "assets", f))).length }));
const html = gzipSync(readFileSync(join(DASH, "index.html"))).length;
const lazy = assets.filter((a) => /^uPlot/.test(a.f));
const initial = html + assets.filter((a) => !lazy.includes(a)).reduce((n, a) => n + a.gz, 0);
const all = initial + lazy.reduce((n, a) => n + a.gz, 0);

// 2. A daemon with 50 services.
const dir = mkdtempSync(join(tmpdir(), "berth-bench-dash-"));
const creds = join(dir, "daemon.json");
const child = spawn(process.execPath, ["--max-semi-space-size=1", "--lite-mode", MAIN, "server", "--data-dir", dir, "--listen", "127.0.0.1:0", "--engine", "memory", "--credentials-file", creds], {
  stdio: "ignore",
  env: { ...process.env, BERTH_RESYNC_INTERVAL_MS: "30000", BERTH_ROUTER: "off" },
});
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
async function peakRss(seconds: number): Promise<number> {
  let peak = 0;
  for (let t = 0; t < seconds; t++) {
    peak = Math.max(peak, rssMb());
    await sleep(1000);
  }
  return peak;
}
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"] });
try {
  const c = await daemonCredentials(creds);
  const src = join(dir, "app");
  mkdirSync(src);
  writeFileSync(join(src, "server.js"), "");
  const svc = Array.from({ length: SERVICES }, (_, i) => `  svc-${i}:\n    type: worker\n    start: node server.js\n    health: { grace: 100ms }\n    limits: { memory: 128mb }\n`).join("");
  const res = await fetch(`${c.url}/v1/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
    body: JSON.stringify({ environment: "production", blueprint: `version: 1\nproject: bench\nservices:\n${svc}`, sourceDir: src }),
  });
  if (res.status !== 202) throw new Error(`sync: ${res.status} ${await res.text()}`);
  for (let i = 0; i < 600; i++) {
    const env = (await (await fetch(`${c.url}/v1/projects/bench/environments/production`, { headers: { authorization: `Bearer ${c.token}` } })).json()) as { status: string };
    if (env.status === "live") break;
    await sleep(100);
  }
  const login = await fetch(`${c.url}/v1/session`, { method: "POST", headers: { "x-berth-csrf": "1", "content-type": "application/json" }, body: JSON.stringify({ token: c.token }) });
  const session = /berth_session=([^;]+)/.exec(login.headers.get("set-cookie") ?? "")?.[1];
  if (!session) throw new Error(`login: ${login.status}`);

  // 3. First render: navigation start -> the 50th service row in the DOM (a user-timing mark the
  // page's observer sets, so the figure is Chromium's own clock), cold cache each time.
  const renders: number[] = [];
  const fcps: number[] = [];
  mkdirSync(join(ROOT, "test-output/dashboard"), { recursive: true });
  for (let run = 0; run < 6; run++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.addCookies([{ name: "berth_session", value: session, url: c.url, httpOnly: true, sameSite: "Strict" }]);
    await ctx.addInitScript(`new MutationObserver((_, o) => { if (document.querySelectorAll("main tbody tr").length >= ${SERVICES}) { performance.mark("overview-rendered"); o.disconnect(); } }).observe(document, { childList: true, subtree: true });`);
    const page = await ctx.newPage();
    const trace = run === 1;
    if (trace) await browser.startTracing(page, { path: join(ROOT, "test-output/dashboard/overview-trace.json"), screenshots: false });
    await page.goto(`${c.url}/dashboard/#/`);
    await page.waitForFunction(() => performance.getEntriesByName("overview-rendered").length > 0, undefined, { timeout: 30_000 });
    if (trace) await browser.stopTracing();
    const t = await page.evaluate(() => ({
      rendered: performance.getEntriesByName("overview-rendered")[0]!.startTime,
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN,
    }));
    if (run > 0) {
      // The first load warms the daemon's statement cache; it is not counted.
      renders.push(t.rendered);
      fcps.push(t.fcp);
    }
    await ctx.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  // 4. RSS: a window with no browser on the dashboard, then one with the overview open.
  const closed = await peakRss(windowS);
  const ctx = await browser.newContext();
  await ctx.addCookies([{ name: "berth_session", value: session, url: c.url, httpOnly: true, sameSite: "Strict" }]);
  const page = await ctx.newPage();
  await page.goto(`${c.url}/dashboard/#/`);
  await page.getByRole("heading", { name: "Environments" }).waitFor();
  const open = await peakRss(windowS);
  await ctx.close();

  console.log(`| bundle, first load (index.html + entry JS + CSS), gzip | ${(initial / 1024).toFixed(1)} KB |`);
  console.log(`| bundle, all (with uPlot, loaded by the service page), gzip | ${(all / 1024).toFixed(1)} KB |`);
  console.log(`| overview with ${SERVICES} services: first contentful paint, median of 5 | ${median(fcps).toFixed(0)} ms (${fcps.map((x) => x.toFixed(0)).join(", ")}) |`);
  console.log(`| overview with ${SERVICES} services: all rows rendered, median of 5 | ${median(renders).toFixed(0)} ms (${renders.map((x) => x.toFixed(0)).join(", ")}) |`);
  console.log(`| daemon peak RSS over ${windowS} s, dashboard closed | ${closed.toFixed(1)} MB |`);
  console.log(`| daemon peak RSS over ${windowS} s, overview open (event stream connected) | ${open.toFixed(1)} MB |`);
} finally {
  await browser.close();
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
