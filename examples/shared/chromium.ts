// Headless Chromium for the examples' end-to-end tests: the same launcher as the hub's own tests,
// and what a person would find in the browser's console.
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';

export { launchChromium, screenshotPath } from '../../test/support/browser.ts';

/**
 * Starts recording what would show as a problem in the console of any page of `target`:
 * console errors and warnings, uncaught exceptions, and answers of 400 or more (a missing
 * favicon, a 401 from an API). Requests the page itself cancels (a reload, a closed
 * EventSource) are not problems. Read the returned list when the page has done its work,
 * before closing it: a page being closed may log its connection's end.
 */
export function watchConsole(target: BrowserContext | Page): string[] {
  const problems: string[] = [];
  const context = 'newPage' in target ? target : target.context();
  const fromTarget = (page: Page | null) => 'newPage' in target || page === target;
  context.on('console', (m: ConsoleMessage) => {
    if (fromTarget(m.page()) && (m.type() === 'error' || m.type() === 'warning'))
      problems.push(`console ${m.type()}: ${m.text()}`);
  });
  context.on('weberror', (e) => {
    if (fromTarget(e.page())) problems.push(`uncaught: ${e.error().message}`);
  });
  context.on('response', (r) => {
    if (r.status() >= 400 && fromTarget(r.frame().page())) problems.push(`${r.status()} ${r.url()}`);
  });
  return problems;
}

/** The page names its tab icon, and the app serves it (so no browser asks for a missing /favicon.ico). */
export async function assertFavicon(page: Page): Promise<void> {
  const href = await page.locator('link[rel=icon]').getAttribute('href');
  for (const path of [href ?? '(no icon link)', '/favicon.ico']) {
    const res = await page.request.get(new URL(path, page.url()).href);
    if (res.status() !== 200 || !(res.headers()['content-type'] ?? '').startsWith('image/'))
      throw new Error(`${path} answered ${res.status()} ${res.headers()['content-type']}`);
  }
}
