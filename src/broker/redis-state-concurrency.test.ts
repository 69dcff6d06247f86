import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { RedisStateStore } from './redis-state.ts';

const fixture = fileURLToPath(new URL('../../test/fixtures/state-incrementer.ts', import.meta.url));
let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

function runNode(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`incrementer exited ${code}`))));
  });
}

test('concurrent increments from several processes add up exactly in Redis', async () => {
  const processes = 3;
  const each = 1200;
  const store = new RedisStateStore({ redis: redis.url, prefix: 'conc:' });
  await Promise.all(
    Array.from({ length: processes }, () => runNode([redis.url, 'conc:', '/jobs/1', String(each), '25'])),
  );
  const entry = await store.get('/jobs/1');
  const state = entry?.state as { indexed: number; bytes: number; byNode: Record<string, number> };
  assert.equal(state.indexed, processes * each);
  assert.equal(state.bytes, (processes * each) / 2);
  assert.equal(Object.keys(state.byNode).length, processes);
  for (const n of Object.values(state.byNode)) assert.equal(n, each);
  assert.equal(entry?.version, processes * each);
  await store.close();
});
