/**
 * Reading an adopted HAProxy back (issue 15): which server slots hold which endpoints, so the
 * next render (and reload) keeps every instance where it is instead of emptying the backends
 * until the reconciler re-adds them.
 */
import { readdir } from "node:fs/promises";
import type { RuntimeApi } from "./runtime-api.ts";
import type { SlotRegistry } from "./slots.ts";

/** The placeholder instance id of a slot read back from HAProxy (renamed by `Router.converge`). */
export const adoptedId = (endpoint: string): string => `adopted:${endpoint}`;

/** Fills `slots` from `show stat`; returns how many occupied slots were found. */
export async function recoverSlots(api: RuntimeApi, slots: SlotRegistry): Promise<number> {
  const rows = await api.serverStats();
  const highest = new Map<string, number>();
  let occupied = 0;
  for (const r of rows) {
    const n = /^s(\d+)$/.exec(r.server);
    if (!r.backend.startsWith("svc.") || !n) continue;
    const slot = Number(n[1]);
    highest.set(r.backend, Math.max(highest.get(r.backend) ?? 0, slot));
    const m = /^([0-9a-fA-F.:]+):(\d+)$/.exec(r.address);
    if (!m || r.address === "127.0.0.1:1" || /^MAINT/.test(r.status)) continue;
    slots.set(r.backend, slot, adoptedId(r.address), { host: m[1]!, port: Number(m[2]) }, /^DRAIN/.test(r.status) ? "drain" : "ready");
    occupied++;
  }
  for (const [backend, count] of highest) while (slots.count(backend) < count) slots.grow(backend);
  return occupied;
}

/** The highest rendered generation in `gen/` (the next one is written after it). */
export async function lastGeneration(genDir: string): Promise<number> {
  try {
    return Math.max(0, ...(await readdir(genDir)).map(Number).filter(Number.isInteger));
  } catch {
    return 0;
  }
}
