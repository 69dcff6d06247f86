/** Dev probe: RSS per idle connection and a heap snapshot of a hub holding N idle SSE subscribers. */
import { readdirSync, statSync } from 'node:fs';
import { LoadPool, workersFor } from './loadgen/pool.ts';
import { rssBytes, sleep } from './lib/proc.ts';
import { ALL_SYSTEMS } from './systems/index.ts';

const n = Number(process.argv[2] ?? 5000);
const dir = process.argv[3];
const system = ALL_SYSTEMS.find((s) => s.name === (process.argv[4] ?? 'herald'))!;
const sys = await system.start();
const pool = await LoadPool.create(workersFor(n));
try {
  await sleep(2000);
  const pid = sys.pids()[0]!;
  const base = rssBytes(pid);
  const r = await pool.open(sys.target, n, 'https://bench.herald.local/idle', false, 120_000);
  await sleep(3000);
  const now = rssBytes(pid);
  console.log(
    `${r.live} live; base ${(base / 2 ** 20).toFixed(1)} MB, now ${(now / 2 ** 20).toFixed(1)} MB, ${((now - base) / n / 1024).toFixed(2)} KB/conn`,
  );
  if (dir) {
    process.kill(pid, 'SIGUSR2');
    let size = -1;
    for (let i = 0; i < 240; i++) {
      await sleep(1000);
      const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot'));
      const s = f ? statSync(`${dir}/${f}`).size : 0;
      if (s > 0 && s === size) break;
      size = s;
    }
    console.log(`after snapshot (GC'd): ${(rssBytes(pid) / 2 ** 20).toFixed(1)} MB`);
  }
} finally {
  await pool.close();
  await sys.stop();
}
