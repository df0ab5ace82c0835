/**
 * Browser helpers for the dashboard's tests: Debian's Chromium driven by playwright-core (never a
 * browser download; ../shared/RECIPES.md), axe-core injected into a page, screenshots at the two
 * widths the issue names.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where a test run leaves its screenshots (the main ones are copied to docs/dashboard/). */
export const OUTPUT_DIR = fileURLToPath(new URL("../../test-output/dashboard/", import.meta.url));

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.BERTH_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

/**
 * Runs axe-core (WCAG 2 A/AA rules) on the page and fails on serious or critical violations.
 * The page's CSP forbids injected scripts, so the context must be made with `bypassCSP`.
 */
export async function assertAccessible(page: Page, name: string): Promise<number> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = (await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }).then((r) => r.violations)`,
  )) as AxeViolation[];
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `${name}: serious or critical accessibility violations`,
  );
  return violations.length;
}

/** Saves `<name>-desktop.png` and `<name>-phone.png`, restoring the desktop width after. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(OUTPUT_DIR, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(OUTPUT_DIR, `${name}-phone.png`), fullPage: true });
  // Nothing sticks out sideways at a phone's width: tables scroll inside their own region.
  const overflow = (await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")) as number;
  const culprits = overflow > 1 ? await page.evaluate(`[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > ${PHONE.width} + 1).slice(-5).map((e) => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`) : [];
  assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than a phone's screen: ${JSON.stringify(culprits)}`);
  await page.setViewportSize(DESKTOP);
}
