/**
 * How fast the built CLI starts (issue 16): `herald --version`, and `herald serve` from spawn
 * to its `listening` log line (time-to-listen), median of N runs of the compiled dist/.
 *
 *   npm run build && node --import tsx bench/cli-start.ts [runs=3]
 *
 * Bounded: each run is one short-lived child process, killed once it has listened or after
 * 20 s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/herald.js', import.meta.url));
const runs = Number(process.argv[2] ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function version(): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.startsWith('herald ')) throw new Error(`--version failed: ${r.stderr}`);
  return performance.now() - t0;
}

function timeToListen(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [
        bin,
        'serve',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--jwt-key',
        'bench-key-0123456789abcdef0123456789',
      ],
      { env: { ...process.env, HERALD_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('no "listening" line within 20 s'));
    }, 20_000);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!out.includes('"event":"listening"')) return;
      const ms = performance.now() - t0;
      clearTimeout(timer);
      child.once('exit', () => resolve(ms));
      child.kill('SIGTERM');
    });
    child.once('error', reject);
  });
}

const versions: number[] = [];
const listens: number[] = [];
for (let i = 0; i < runs; i++) {
  versions.push(version());
  listens.push(await timeToListen());
}
const fmt = (xs: number[]): string =>
  `${median(xs).toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`;
console.log(`herald --version   median ${fmt(versions)}`);
console.log(`time to listen     median ${fmt(listens)}`);
