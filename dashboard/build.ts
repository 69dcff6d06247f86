/**
 * Builds the dashboard into dashboard/dist/ (what the hub serves at /dashboard/).
 *
 *   node --import tsx dashboard/build.ts          # or: npx vite build --config dashboard/vite.config.ts
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const configFile = fileURLToPath(new URL('./vite.config.ts', import.meta.url));
/** The built app's entry page. */
export const DIST_INDEX = fileURLToPath(new URL('./dist/index.html', import.meta.url));

/** Runs the production build. */
export async function buildDashboard(): Promise<void> {
  await build({ configFile, logLevel: 'warn' });
}

/** Builds only when dist/ is missing, for tests and first runs. */
export async function ensureDashboardBuilt(): Promise<void> {
  if (!existsSync(DIST_INDEX)) await buildDashboard();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildDashboard();
  console.log(`built ${DIST_INDEX}`);
}
