// Cluster-wide presence: two `herald serve --subscriptions` nodes on one real redis-server,
// on a Sentinel-managed primary and on a real Redis Cluster. The subscriptions API on either
// node lists both nodes' subscribers, in both dialects; a SIGKILLed node's subscribers leave
// the other's API and their leave events go out within the documented bound (--presence-ttl
// plus a third).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { mintAccessToken, mintToken } from '../src/auth/mint.ts';
import { localHubArgs, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { startRedis } from './support/redis-server.ts';
import { startRedisCluster, startSentinel } from './support/redis-topologies.ts';
import { SseConnection } from './support/sse-client.ts';

const KEY = 'presence-cluster-secret-0123456789';
const ISSUER = 'https://app.presence.test';
const HUB = 'http://localhost/.well-known/mercure';
const PATH = '/.well-known/mercure';
const FEED = 'https://example.com/feed';
const TTL_MS = 1500;
/** docs/scaling.md: gone from the API after the TTL, leave events within a third more. */
const BOUND_MS = TTL_MS + TTL_MS / 3 + 100;

const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function node(redisUrl: string): Promise<HubProcess> {
  const hub = await startHubProcess([
    ...localHubArgs(KEY),
    '--redis',
    redisUrl,
    '--subscriptions',
    '--presence-ttl',
    `${TTL_MS}ms`,
    '--token-issuers',
    ISSUER,
  ]);
  cleanups.push(() => hub.stop('SIGKILL'));
  return hub;
}

async function open(url: string, token: string): Promise<SseConnection> {
  const c = await SseConnection.open(url, { Authorization: `Bearer ${token}` });
  cleanups.push(() => c.close());
  assert.equal(c.status, 200);
  await c.live();
  return c;
}

interface Listed {
  subscriber: string;
  payload?: { user: string };
  topic?: string;
  match?: string;
}

async function list(hub: HubProcess, token: string): Promise<Listed[]> {
  const res = await fetch(`${hub.url}${PATH}/subscriptions`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { subscriptions: Listed[] }).subscriptions;
}

/** Polls the API (bounded): the other node's writes land one presence interval after the change. */
async function listUntil(
  hub: HubProcess,
  token: string,
  check: (docs: Listed[]) => boolean,
  what: string,
): Promise<Listed[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const docs = await list(hub, token);
    if (check(docs)) return docs;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(docs)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function scenario(redisUrl: string): Promise<void> {
  const [a, b] = [await node(redisUrl), await node(redisUrl)];
  const watch07 = await mintToken({ secret: KEY, subscribe: [`${PATH}/subscriptions{/topic}{/subscriber}`] });
  const watch08 = await mintAccessToken({
    secret: KEY,
    issuer: ISSUER,
    audience: HUB,
    details: [
      { actions: ['subscribe'], topics: [{ match: `${PATH}/subscriptions{/*}?`, match_type: 'urlpattern' }] },
    ],
  });
  const watcher = await open(
    `${a.url}${PATH}?topic=${encodeURIComponent(`${PATH}/subscriptions/{topic}/{subscriber}`)}`,
    watch07,
  );
  const reader = (user: string) => mintToken({ secret: KEY, subscribe: [FEED], payload: { user } });
  await open(`${a.url}${PATH}?topic=${encodeURIComponent(FEED)}`, await reader('alice'));
  await open(`${b.url}${PATH}?topic=${encodeURIComponent(FEED)}`, await reader('bob'));
  const carolToken = await mintAccessToken({
    secret: KEY,
    issuer: ISSUER,
    audience: HUB,
    details: [{ actions: ['subscribe'], topics: [{ match: FEED }] }],
  });
  await open(`${b.url}${PATH}?match=${encodeURIComponent(FEED)}`, carolToken);

  // Joins from both nodes reach the watcher on A (subscription events cross the broker).
  await watcher.waitFor(() => watcher.updates.length >= 2, 'two join events');
  const joins = watcher.updates.map(
    (u) => JSON.parse(u.data) as { subscriber: string; active: boolean; payload: { user: string } },
  );
  assert.ok(joins.every((j) => j.active));
  const ids = new Set(joins.map((j) => j.subscriber));
  assert.equal(ids.size, 2);

  // The API on either node lists both nodes' subscriptions in each dialect's shape: draft-07
  // sees alice and bob, and carol's exact matcher as a topic; draft-08 sees carol, and alice's
  // and bob's exact topics as exact matchers.
  const carolId = [...(await list(b, watch08))].find(
    (x) => x.match === FEED && x.subscriber !== undefined && !ids.has(x.subscriber),
  )?.subscriber;
  for (const hub of [a, b]) {
    const docs = await listUntil(
      hub,
      watch07,
      (d) => d.filter((x) => x.topic === FEED).length === 3,
      `both nodes' subscribers on ${hub.url}`,
    );
    assert.deepEqual(
      new Set(docs.filter((x) => x.topic === FEED).map((x) => x.subscriber)),
      new Set([...ids, carolId]),
    );
    const docs08 = await listUntil(
      hub,
      watch08,
      (d) => d.filter((x) => x.match === FEED).length === 3,
      `draft-08 on ${hub.url}`,
    );
    assert.deepEqual(
      new Set(docs08.filter((x) => x.match === FEED).map((x) => x.subscriber)),
      new Set([...ids, carolId]),
    );
  }

  // SIGKILL B: its subscribers leave A's API and A announces their leave within the bound.
  const bobId = joins.find((j) => j.payload.user === 'bob')!.subscriber;
  const killedAt = Date.now();
  await b.stop('SIGKILL');
  await watcher.waitFor(
    () => watcher.updates.some((u) => (JSON.parse(u.data) as { active: boolean }).active === false),
    'a leave event for the killed node',
    BOUND_MS + 5_000,
  );
  const leftAfter = Date.now() - killedAt;
  const leaves = watcher.updates
    .map((u) => JSON.parse(u.data) as { subscriber: string; active: boolean; topic: string })
    .filter((e) => !e.active);
  assert.equal(leaves.length, 1, 'one leave: the killed node held one draft-07 subscription');
  assert.equal(leaves[0]!.subscriber, bobId);
  assert.equal(leaves[0]!.topic, FEED);
  assert.ok(leftAfter <= BOUND_MS + 1_000, `leave event after ${leftAfter} ms (bound ${BOUND_MS} ms)`);
  const remaining = await list(a, watch07);
  assert.deepEqual(
    remaining.filter((x) => x.topic === FEED).map((x) => x.payload?.user),
    ['alice'],
  );
  assert.deepEqual(
    (await list(a, watch08)).filter((x) => x.match === FEED).map((x) => x.payload?.user),
    ['alice'],
    "B's draft-08 subscriber left too; alice's topic is listed as an exact matcher",
  );
}

describe('cluster-wide presence', () => {
  test('two nodes on one redis-server: either API lists both; a killed node leaves within the bound', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    await scenario(redis.url);
  });

  test('the same on a Sentinel-managed primary', async () => {
    const sentinel = await startSentinel();
    cleanups.push(() => sentinel.stop());
    await scenario(sentinel.url);
  });

  test('the same on a Redis Cluster (three primaries)', async () => {
    const cluster = await startRedisCluster({ primaries: 3, replicas: 0 });
    cleanups.push(() => cluster.stop());
    await scenario(cluster.url);
  });
});
