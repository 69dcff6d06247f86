import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mintAccessToken, mintToken } from '../../src/auth/mint.ts';
import { liveSelectors } from './dialect.ts';
import { STATS_TOPIC } from './stats.ts';

test('the dashboard subscribes in the dialect of its token', async () => {
  const old = await mintToken({ secret: 'dashboard-dialect-key', subscribe: ['*'], admin: true });
  const fresh = await mintAccessToken({
    secret: 'dashboard-dialect-key',
    issuer: 'herald-dev',
    audience: 'http://localhost/.well-known/mercure',
    details: [{ actions: ['subscribe'], topics: [{ match: '*' }] }],
    admin: true,
  });
  assert.deepEqual(liveSelectors(old, 'https://x/{id}'), {
    dialect: 'draft-07',
    topics: [STATS_TOPIC, 'https://x/{id}'],
    patterns: [],
  });
  assert.deepEqual(liveSelectors(fresh, 'https://x/:id'), {
    dialect: 'draft-08',
    topics: [STATS_TOPIC],
    patterns: ['https://x/:id'],
  });
  assert.deepEqual(liveSelectors(fresh, 'https://x/{id}'), {
    dialect: 'draft-08',
    topics: [STATS_TOPIC, 'https://x/{id}'],
    patterns: [],
  });
  assert.equal(liveSelectors(null, '').dialect, 'draft-07');
  assert.equal(liveSelectors('not.a.token', '').dialect, 'draft-07');
});
