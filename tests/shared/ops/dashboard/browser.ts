/**
 * What the dashboard's browser tests share: Debian's chromium-headless-shell (driven by
 * playwright-core; a test is ignored when it is absent) and reading a page element's text by its
 * data-testid, polled where the page changes it itself.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";

export const BROWSER = "/usr/bin/chromium-headless-shell";
export const browserPresent = await Deno.stat(BROWSER).then(() => true, () => false);

export async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).first().textContent())?.trim() ?? "";
}

/** Polls an element's text until it equals `expected` (the page refreshes itself). */
export async function waitForText(
  page: Page,
  testId: string,
  expected: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    last = await text(page, testId);
    if (last === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${testId}: expected "${expected}", still "${last}"`);
}
