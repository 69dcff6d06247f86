import { after, before } from 'node:test';
import { startRedis, type TestRedis } from '../../test/support/redis-server.ts';
import { RedisStateStore } from './redis-state.ts';
import { stateStoreContract } from './state-store.contract.ts';

let redis: TestRedis;
let n = 0;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

const stores: RedisStateStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
});

stateStoreContract('redis', async (limits) => {
  // A fresh prefix per test keeps the tests independent on one server.
  const store = new RedisStateStore({ redis: redis.url, prefix: `t${++n}:`, ...(limits ? { limits } : {}) });
  stores.push(store);
  return store;
});
