// Runs the whole suite the way CI does: type-check, lint, then every *.test.ts under
// src/, test/, examples/ and dashboard/ with node's own test runner (through tsx).
// Before the tests: builds dist/ and the dashboard when stale (`npx herald` runs dist/), and,
// when package tests are among them, packs the tarball once (HERALD_TARBALL) for all of them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findTests(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts') || name.endsWith('.test.tsx')) out.push(p);
  }
  return out;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const only = process.argv.slice(2);
if (only.length === 0) {
  run('npx', ['tsc', '--noEmit']);
  run('npx', ['eslint', '.']);
}
const files = only.length
  ? only
  : ['src', 'test', 'examples', 'dashboard'].flatMap((d) => findTests(d)).sort();
run(process.execPath, ['scripts/build.mjs', '--if-stale']);
run(process.execPath, ['--import', 'tsx', 'dashboard/build.ts', '--if-stale']);

// Package tests (test/package/, examples/next-*) install the packed tarball, never the tree.
const packDir = files.some((f) => /(^|\/)(test\/package|examples\/next-)/.test(f))
  ? mkdtempSync(join(tmpdir(), 'herald-pack-'))
  : undefined;
if (packDir) {
  // --ignore-scripts: dist/ was just built; prepack would build it all again.
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (pack.status !== 0) process.exit(pack.status ?? 1);
  process.env.HERALD_TARBALL = join(packDir, pack.stdout.trim().split('\n').pop());
}
process.on('exit', () => packDir && rmSync(packDir, { recursive: true, force: true }));

// The runner's timeout also bounds a whole file: package tests install from the registry and
// build a Next.js app, so they get their own run with a longer one (each of their hooks and
// tests still has its own bound). That run goes on beside the main one, mostly waiting on
// npm and `next build`; its report is printed when it ends.
const isPackageTest = (f) => /(^|\/)(test\/package|examples\/next-)/.test(f);
const testArgs = (timeout, list) => [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  // A file whose tests all finished exits even if a helper left a handle open (a leak in the
  // hub itself is caught by test/close-releases.test.ts), rather than idling to the timeout.
  '--test-force-exit',
  `--test-timeout=${timeout}`,
  ...list,
];
const packageFiles = files.filter(isPackageTest);
const mainFiles = files.filter((f) => !isPackageTest(f));
const packageRun = packageFiles.length
  ? new Promise((resolve) => {
      const child = spawn(process.execPath, testArgs(600_000, packageFiles), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
    })
  : undefined;
let status = 0;
if (mainFiles.length) {
  // The bound covers a whole file too: the Chromium files (the dashboard's takes about a
  // minute) need room on a loaded machine. A hung test still fails, just later.
  const main = await new Promise((resolve) =>
    spawn(process.execPath, testArgs(240_000, mainFiles), { stdio: 'inherit' }).on('exit', resolve),
  );
  if (main !== 0) status = main ?? 1;
}
if (packageRun) {
  const { code, out } = await packageRun;
  process.stdout.write(`\n# package tests (${packageFiles.join(', ')})\n${out}`);
  if (code !== 0) status = code ?? 1;
}
process.exit(status);
