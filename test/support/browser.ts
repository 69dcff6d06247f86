import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Flags that keep Chromium from reaching out to the network this machine does not have. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches the system's headless Chromium (Debian package `chromium`). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/**
 * Where an example test saves its screenshot: beside the test (the tracked image the README
 * shows) when HERALD_UPDATE_SCREENSHOTS=1, else a temporary folder, so ordinary test runs
 * leave the working tree clean.
 */
export function screenshotPath(testModuleUrl: string): string {
  const tracked = new URL('./screenshot.png', testModuleUrl).pathname;
  if (process.env.HERALD_UPDATE_SCREENSHOTS === '1') return tracked;
  const dir = join(tmpdir(), 'herald-screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${basename(dirname(tracked))}.png`);
}
