/**
 * Builds the dashboard into dashboard/dist/ (what the hub serves at /dashboard/).
 *
 *   node --import tsx dashboard/build.ts          # or: npx vite build --config dashboard/vite.config.ts
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const configFile = join(here, 'vite.config.ts');
/** The built app's entry page. */
export const DIST_INDEX = fileURLToPath(new URL('./dist/index.html', import.meta.url));

/** Runs the production build. */
export async function buildDashboard(): Promise<void> {
  await build({ configFile, logLevel: 'warn' });
}

function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestSource(join(path, name))));
}

function builtAt(): number {
  try {
    return statSync(DIST_INDEX).mtimeMs;
  } catch {
    return -1;
  }
}

/** Builds when dist/ is missing or older than the sources, so tests never run a stale app. */
export async function ensureDashboardBuilt(): Promise<void> {
  const sources = Math.max(
    newestSource(join(here, 'src')),
    newestSource(join(here, 'index.html')),
    newestSource(configFile),
    newestSource(join(here, '../src/client')),
  );
  if (builtAt() < sources) await buildDashboard();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // `--if-stale` (used by `npm start`) skips the build when dist/ is newer than the sources.
  if (process.argv.includes('--if-stale')) await ensureDashboardBuilt();
  else await buildDashboard();
  console.log(`dashboard ready: ${DIST_INDEX}`);
}
